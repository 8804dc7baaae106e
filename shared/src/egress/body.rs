//! The request's secrets and the response's body.
//!
//! Wiping is best effort and says so: the buffers this module fills (the form body, the
//! basic-auth value, the response body) are sized once, so no reallocation leaves a copy, and
//! are wiped when dropped; the copies inside hyper's and rustls's own buffers, and the header
//! value hyper sends, are not ours to wipe.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use http_body_util::BodyExt as _;
use hyper::body::{Buf, Incoming};
use hyper::header::HeaderValue;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::error::{EgressError, Stage};

/// A request body hyper sends from and drops: wiped on drop. No `Debug`.
pub(super) struct SecretBody {
    bytes: Zeroizing<Vec<u8>>,
    sent: usize,
}

impl Buf for SecretBody {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.sent
    }

    fn chunk(&self) -> &[u8] {
        &self.bytes[self.sent..]
    }

    fn advance(&mut self, count: usize) {
        assert!(
            count <= self.remaining(),
            "advanced past the end of the body"
        );
        self.sent += count;
    }
}

/// `application/x-www-form-urlencoded` of `form`, in a buffer sized once.
pub(super) fn form_body(form: &[(&str, &str)]) -> SecretBody {
    let pieces = || {
        form.iter().enumerate().flat_map(|(index, (name, value))| {
            let separator = if index == 0 { "" } else { "&" };
            std::iter::once(separator)
                .chain(form_urlencoded::byte_serialize(name.as_bytes()))
                .chain(std::iter::once("="))
                .chain(form_urlencoded::byte_serialize(value.as_bytes()))
        })
    };
    let length = pieces().map(str::len).sum();
    let mut bytes = Zeroizing::new(Vec::with_capacity(length));
    for piece in pieces() {
        bytes.extend_from_slice(piece.as_bytes());
    }
    SecretBody { bytes, sent: 0 }
}

/// `Authorization: Basic base64(user:password)` (RFC 7617), marked sensitive. The values
/// are sent as given: RFC 6749 §2.3.1's form-encoding of a client id and secret is the
/// caller's. A user name with a colon cannot be carried.
pub(super) fn basic_auth(user: &str, password: &str) -> Result<HeaderValue, EgressError> {
    if user.contains(':') {
        return Err(EgressError::InvalidRequest);
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(user.len() + 1 + password.len()));
    plain.extend_from_slice(user.as_bytes());
    plain.push(b':');
    plain.extend_from_slice(password.as_bytes());
    let engine = base64::engine::general_purpose::STANDARD;
    let prefix = b"Basic ";
    let encoded_len = base64::encoded_len(plain.len(), true).ok_or(EgressError::InvalidRequest)?;
    let mut header = Zeroizing::new(vec![0u8; prefix.len() + encoded_len]);
    header[..prefix.len()].copy_from_slice(prefix);
    let written = engine
        .encode_slice(plain.as_slice(), &mut header[prefix.len()..])
        .map_err(|_| EgressError::InvalidRequest)?;
    let mut value = HeaderValue::from_bytes(&header[..prefix.len() + written])
        .map_err(|_| EgressError::InvalidRequest)?;
    value.set_sensitive(true);
    Ok(value)
}

/// Reads `body` into a buffer of `cap` bytes at most: a declared length over the cap is
/// refused before reading, and a body that grows past it is refused as soon as it does.
pub(super) async fn read_capped(
    mut body: Incoming,
    declared: Option<u64>,
    cap: usize,
) -> Result<Zeroizing<Vec<u8>>, EgressError> {
    if declared.is_some_and(|length| length > cap as u64) {
        return Err(EgressError::TooLarge);
    }
    // Sized once, to the cap: no reallocation leaves a copy behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(cap));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| EgressError::Transport(Stage::Http))?;
        if let Ok(data) = frame.into_data() {
            if data.len() > cap - bytes.len() {
                return Err(EgressError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// A `Retry-After` value (RFC 9110 §10.2.3): delay-seconds, or an HTTP date (a past date is
/// no delay). Anything else is ignored.
pub(super) fn retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = OffsetDateTime::parse(text, &Rfc2822).ok()?;
    Some(SystemTime::from(at).duration_since(now).unwrap_or_default())
}
