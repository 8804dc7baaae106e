//! Credentials recognisable by their framing: private key blocks (PEM, OpenSSH, PGP, SSH2,
//! PuTTY, a JWK with private members), a Google service-account key file, a JSON Web Token,
//! an `Authorization` header value and a webhook URL whose path is its credential.

use super::scan::{contains, find_iter, is_b64url, is_blank, run_len, run_len_upto, run_start};
use super::token_formats::{body_passes, BodyCheck};

/// Webhook URLs whose path is the credential: (provider, case-insensitive marker, minimum
/// length of the `[A-Za-z0-9/_@.-]` path after it).
pub const WEBHOOK_URLS: &[(&str, &str, usize)] = &[
    ("Slack", "hooks.slack.com/services/", 20),
    ("Slack", "hooks.slack.com/workflows/", 20),
    ("Slack", "hooks.slack.com/triggers/", 20),
    ("Discord", "discord.com/api/webhooks/", 40),
    ("Discord", "discordapp.com/api/webhooks/", 40),
    ("Microsoft Teams", ".webhook.office.com/webhookb2/", 40),
];

pub(super) fn has_private_key_block(b: &[u8]) -> bool {
    for i in find_iter(b, b"BEGIN ", true) {
        // At least four dashes before (an optional space between: SSH2's `---- BEGIN`).
        let mut j = i;
        if j > 0 && b[j - 1] == b' ' {
            j -= 1;
        }
        if j - run_start(b, j, |c| c == b'-') < 4 {
            continue;
        }
        let label_start = i + 6;
        let label_len = run_len_upto(b, label_start, 64, |c| {
            c.is_ascii_alphanumeric() || c == b' '
        });
        let label = b[label_start..label_start + label_len].trim_ascii_end();
        let ends_with = |suffix: &[u8]| {
            label.len() >= suffix.len()
                && label[label.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        };
        let dashes = run_len_upto(b, label_start + label_len, 4, |c| c == b'-');
        if dashes >= 4 && (ends_with(b"PRIVATE KEY") || ends_with(b"PRIVATE KEY BLOCK")) {
            return true;
        }
    }
    contains(b, b"PuTTY-User-Key-File-") || has_private_jwk(b)
}

/// A JSON Web Key with private material: the value has a `"kty"` member and a `"d"` member
/// (RSA/EC/OKP private key) — or, with `"oct"`, a `"k"` member (symmetric key) — with a
/// non-empty string value. Quotes may be backslash-escaped.
fn has_private_jwk(b: &[u8]) -> bool {
    if !contains(b, b"kty") {
        return false;
    }
    let oct = contains(b, b"\"oct");
    (1..b.len().saturating_sub(1)).any(|j| {
        let member = b[j] == b'd' || (oct && b[j] == b'k');
        if !member || b[j - 1] != b'"' {
            return false;
        }
        let mut k = j + 1 + usize::from(b[j + 1] == b'\\');
        if b.get(k) != Some(&b'"') {
            return false;
        }
        k += 1;
        k += run_len_upto(b, k, 8, |c| c.is_ascii_whitespace());
        if b.get(k) != Some(&b':') {
            return false;
        }
        k += 1;
        k += run_len_upto(b, k, 8, |c| c.is_ascii_whitespace());
        k += run_len_upto(b, k, 2, |c| c == b'\\');
        b.get(k) == Some(&b'"') && b.get(k + 1).is_some_and(|&c| c != b'"' && c != b'\\')
    })
}

pub(super) fn has_service_account_json(b: &[u8]) -> bool {
    let quote_or_escape = |c: u8| c == b'"' || c == b'\\';
    for i in find_iter(b, b"service_account", false) {
        let after = i + "service_account".len();
        let close = after + run_len(b, after, |c| c == b'\\');
        if b.get(close) != Some(&b'"') {
            continue;
        }
        let mut j = run_start(b, i, quote_or_escape);
        if j == i {
            continue;
        }
        j = run_start(b, j, |c| c.is_ascii_whitespace());
        if j == 0 || b[j - 1] != b':' {
            continue;
        }
        j = run_start(b, j - 1, |c| c.is_ascii_whitespace());
        j = run_start(b, j, quote_or_escape);
        if b[..j].ends_with(b"type") {
            return true;
        }
    }
    false
}

pub(super) fn has_webhook_url(b: &[u8]) -> bool {
    WEBHOOK_URLS.iter().any(|&(_, marker, min)| {
        find_iter(b, marker.as_bytes(), true).any(|i| {
            run_len_upto(b, i + marker.len(), min, |c| {
                c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'@' | b'.' | b'-')
            }) >= min
        })
    })
}

pub(super) fn has_jwt(b: &[u8]) -> bool {
    for i in find_iter(b, b"eyJ", false) {
        if i > 0 && is_b64url(b[i - 1]) {
            continue;
        }
        // Up to five dot-separated base64url segments.
        let mut segments = [0usize; 5];
        let mut starts = [0usize; 5];
        let mut count = 0;
        let mut pos = i;
        while count < 5 {
            starts[count] = pos;
            segments[count] = run_len(b, pos, is_b64url);
            pos += segments[count];
            count += 1;
            if b.get(pos) != Some(&b'.') {
                break;
            }
            pos += 1;
        }
        if segments[0] < 10 || count < 3 {
            continue;
        }
        // JWS: header.payload.signature with a JSON payload (signature may be empty).
        let jws = segments[1] >= 10 && b[starts[1]..].starts_with(b"ey");
        // JWE: header.key.iv.ciphertext.tag
        let jwe = count == 5 && segments[3] >= 16;
        if jws || jwe {
            return true;
        }
    }
    false
}

fn is_token68(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Not a plain word: has a digit, a symbol, or an uppercase letter after the first
/// character.
fn looks_random(t: &[u8]) -> bool {
    t.iter()
        .any(|&c| c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'='))
        || t.iter().skip(1).any(|c| c.is_ascii_uppercase())
}

pub(super) fn has_authorization_header(b: &[u8]) -> bool {
    let lead = run_len(b, 0, |c| c.is_ascii_whitespace());
    let trimmed = &b[lead..];
    if trimmed.len() > 6 && trimmed[..5].eq_ignore_ascii_case(b"token") && is_blank(trimmed[5]) {
        let s = 5 + run_len(trimmed, 5, is_blank);
        let cred = &trimmed[s..s + run_len(trimmed, s, is_token68)];
        if cred.len() >= 16 && looks_random(cred) {
            return true;
        }
    }
    let scheme_at = |scheme: &'static [u8]| {
        find_iter(b, scheme, true).filter_map(move |i| {
            let bounded = i == 0 || !b[i - 1].is_ascii_alphanumeric();
            let after = i + scheme.len();
            let blanks = run_len(b, after, is_blank);
            (bounded && blanks > 0).then_some(after + blanks)
        })
    };
    for s in scheme_at(b"bearer") {
        let cred = &b[s..s + run_len(b, s, is_token68)];
        let long_letters = cred.len() >= 20 && cred.iter().all(u8::is_ascii_alphabetic);
        if cred.len() >= 8 && (looks_random(cred) || long_letters) {
            return true;
        }
    }
    for s in scheme_at(b"basic") {
        let cred = &b[s..s + run_len(b, s, |c| c.is_ascii_alphanumeric() || b"+/=".contains(&c))];
        let opaque = cred.len() >= 16 && looks_random(cred) && base64_decodes(cred);
        if cred.len() >= 4 && (opaque || base64_is_user_password(cred)) {
            return true;
        }
    }
    // `token <40 hex>` anywhere (a GitHub classic token after `Authorization: token`).
    for s in scheme_at(b"token") {
        let cred = &b[s..s + run_len_upto(b, s, 41, |c| c.is_ascii_alphanumeric())];
        if cred.len() == 40
            && cred.iter().all(u8::is_ascii_hexdigit)
            && body_passes(cred, BodyCheck::LetterAndDigit)
        {
            return true;
        }
    }
    false
}

/// Standard base64 whose unpadded length is possible (not 1 modulo 4) and whose padding, if
/// any, is at the end.
fn base64_decodes(s: &[u8]) -> bool {
    let pad = s.iter().rev().take_while(|&&c| c == b'=').count();
    let body = &s[..s.len() - pad];
    pad <= 2 && body.len() % 4 != 1 && !body.contains(&b'=')
}

/// Standard base64 (padding optional) that decodes to UTF-8 text without control
/// characters containing a `:` (`user:password`).
fn base64_is_user_password(s: &[u8]) -> bool {
    let s = &s[..s.len() - s.iter().rev().take_while(|&&c| c == b'=').count()];
    if s.len() % 4 == 1 {
        return false;
    }
    let mut decoded = Vec::with_capacity(s.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return false,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            let byte = (acc >> bits) as u8;
            acc &= (1 << bits) - 1;
            if byte < 0x20 || byte == 0x7f {
                return false;
            }
            decoded.push(byte);
        }
    }
    decoded.contains(&b':') && std::str::from_utf8(&decoded).is_ok()
}
