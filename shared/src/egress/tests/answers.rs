//! The request body, the basic-auth header, `Retry-After`, and what `Debug` shows.

use std::time::{Duration, UNIX_EPOCH};

use hyper::body::Buf as _;
use hyper::header::HeaderValue;

use super::CANARY;
use crate::egress::body::{basic_auth, form_body, retry_after};
use crate::egress::{EgressError, EgressGuard, EgressPolicy};

#[test]
fn the_form_is_url_encoded_in_order() {
    let mut body = form_body(&[("grant_type", "refresh_token"), ("a b", "c&d=e/+é")]);
    let expected = b"grant_type=refresh_token&a+b=c%26d%3De%2F%2B%C3%A9";
    assert_eq!(body.remaining(), expected.len());
    assert_eq!(body.chunk(), expected);
    body.advance(5);
    assert_eq!(body.chunk(), &expected[5..]);
    assert_eq!(form_body(&[]).remaining(), 0);
}

#[test]
fn basic_auth_is_sensitive_and_refuses_a_colon_in_the_user() {
    let value = basic_auth("client", "s3cr:et").unwrap();
    assert_eq!(value, "Basic Y2xpZW50OnMzY3I6ZXQ=");
    assert!(value.is_sensitive());
    assert!(!format!("{value:?}").contains("Y2xp"));
    assert_eq!(
        basic_auth("cli:ent", "x").unwrap_err(),
        EgressError::InvalidRequest
    );
    assert_eq!(basic_auth("", "").unwrap(), "Basic Og==");
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    // Sun, 06 Nov 1994 08:49:30 GMT.
    let now = UNIX_EPOCH + Duration::from_secs(784_111_770);
    let read = |text: &str| retry_after(&HeaderValue::from_str(text).unwrap(), now);
    assert_eq!(read("120"), Some(Duration::from_secs(120)));
    assert_eq!(read(" 0 "), Some(Duration::ZERO));
    assert_eq!(
        read("Sun, 06 Nov 1994 08:49:37 GMT"),
        Some(Duration::from_secs(7))
    );
    assert_eq!(read("Sun, 06 Nov 1994 08:00:00 GMT"), Some(Duration::ZERO));
    for ignored in ["-5", "1.5", "soon", "", "Sunday, 06-Nov-94 08:49:37 GMT"] {
        assert_eq!(read(ignored), None, "{ignored:?}");
    }
}

#[test]
fn the_guard_debugs_its_policy_only() {
    let mut policy = EgressPolicy::local();
    policy.allow = crate::egress::parse_allow_list("10.1.2.0/24,internal-idp.corp").unwrap();
    let text = format!("{:?}", EgressGuard::new(policy));
    assert!(
        text.contains("internal-idp.corp") && text.contains("local_mode: true"),
        "{text}"
    );
    assert!(!text.contains(CANARY));
}

#[test]
fn the_guard_and_its_call_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let guard = EgressGuard::new(EgressPolicy::strict());
    send_sync(&guard);
    let call = guard.post_form("https://idp.test/t", &[], None);
    send(&call);
}
