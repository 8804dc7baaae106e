//! Refusals before any connect, with an injected resolver: no socket is opened (the
//! connector records attempts and refuses them).

use std::net::SocketAddr;
use std::sync::Arc;

use super::{guard, refresh_form, FakeResolver, RecordingConnector, CANARY};
use crate::egress::{AddressClass, EgressError, EgressPolicy};

const URL: &str = "https://idp.test/oauth/token?tenant=canary-5e3c7-tenant";

/// The addresses the issue names, each refused in both modes.
const FORBIDDEN: &[(&str, AddressClass)] = &[
    ("10.0.0.5", AddressClass::Private),
    ("172.16.1.1", AddressClass::Private),
    ("192.168.1.1", AddressClass::Private),
    ("100.64.0.1", AddressClass::SharedCgnat),
    ("169.254.169.254", AddressClass::Metadata),
    ("fd00:ec2::254", AddressClass::Metadata),
    ("fc00::1", AddressClass::UniqueLocal),
    ("::ffff:10.0.0.1", AddressClass::Private),
    ("224.0.0.1", AddressClass::Multicast),
    ("0.0.0.0", AddressClass::Unspecified),
];

async fn call(policy: EgressPolicy, resolver: FakeResolver, url: &str) -> Outcome {
    let resolver = Arc::new(resolver);
    let connector = RecordingConnector::refuse();
    let form = refresh_form();
    let result = guard(policy, &resolver, &connector)
        .post_form(url, &form, Some(("client", "canary-5e3c7-secret")))
        .await;
    Outcome {
        error: result.expect_err("the call must not succeed"),
        resolutions: resolver.calls(),
        connects: connector.attempts(),
    }
}

struct Outcome {
    error: EgressError,
    resolutions: usize,
    connects: Vec<SocketAddr>,
}

#[tokio::test]
async fn names_resolving_to_forbidden_addresses_are_refused_before_any_connect() {
    for policy in [EgressPolicy::strict(), EgressPolicy::local()] {
        for &(addr, class) in FORBIDDEN {
            let resolver = FakeResolver::default().with("idp.test", &[addr]);
            let outcome = call(policy.clone(), resolver, URL).await;
            assert_eq!(
                outcome.error,
                EgressError::ForbiddenAddress(class),
                "{addr}"
            );
            assert_eq!(outcome.resolutions, 1, "{addr}");
            assert!(
                outcome.connects.is_empty(),
                "{addr}: {:?}",
                outcome.connects
            );
        }
    }
}

#[tokio::test]
async fn ip_literal_hosts_are_checked_without_resolving() {
    for (url, class) in [
        ("https://10.0.0.5/token", AddressClass::Private),
        (
            "https://169.254.169.254/latest/meta-data/",
            AddressClass::Metadata,
        ),
        (
            "https://[fd00:ec2::254]/latest/api/token",
            AddressClass::Metadata,
        ),
        ("https://[::ffff:10.0.0.1]/token", AddressClass::Private),
        ("https://0x7f.1/token", AddressClass::Loopback),
        ("https://[::]/token", AddressClass::Unspecified),
    ] {
        let outcome = call(EgressPolicy::strict(), FakeResolver::default(), url).await;
        assert_eq!(outcome.error, EgressError::ForbiddenAddress(class), "{url}");
        assert_eq!(outcome.resolutions, 0, "{url}");
        assert!(outcome.connects.is_empty(), "{url}");
    }
}

#[tokio::test]
async fn one_forbidden_answer_among_public_ones_refuses_the_call() {
    for answers in [
        ["93.184.215.14", "10.0.0.5"],
        ["10.0.0.5", "93.184.215.14"],
        ["2606:4700::1111", "169.254.169.254"],
    ] {
        let resolver = FakeResolver::default().with("idp.test", &answers);
        let outcome = call(EgressPolicy::strict(), resolver, URL).await;
        assert!(
            matches!(outcome.error, EgressError::ForbiddenAddress(_)),
            "{answers:?}: {:?}",
            outcome.error
        );
        assert!(outcome.connects.is_empty(), "{answers:?}");
    }
}

#[tokio::test]
async fn approved_answers_are_the_only_addresses_handed_to_the_connector() {
    // Two public answers (and a duplicate): the connector is asked for exactly those, on the
    // URL's port, in order; it opens nothing, so the call fails at connect.
    let resolver = FakeResolver::default().with(
        "idp.test",
        &["93.184.215.14", "::ffff:93.184.215.14", "2606:4700::1111"],
    );
    let outcome = call(EgressPolicy::strict(), resolver, "https://idp.test:8443/t").await;
    assert_eq!(
        outcome.error,
        EgressError::Transport(crate::egress::Stage::Connect)
    );
    assert_eq!(outcome.resolutions, 1);
    let expected: Vec<SocketAddr> = vec![
        "93.184.215.14:8443".parse().unwrap(),
        "[2606:4700::1111]:8443".parse().unwrap(),
    ];
    assert_eq!(outcome.connects, expected);
}

#[tokio::test]
async fn an_allow_list_lets_its_private_answers_through_to_the_connector() {
    let policy = EgressPolicy::from_values(None, Some("10.1.2.0/24,internal-idp.corp")).unwrap();
    let resolver = FakeResolver::default()
        .with("idp.test", &["10.1.2.3"])
        .with("internal-idp.corp", &["172.20.0.4"]);
    let resolver = Arc::new(resolver);
    let connector = RecordingConnector::refuse();
    let guard = guard(policy, &resolver, &connector);
    let form = refresh_form();
    for url in ["https://idp.test/t", "https://internal-idp.corp/t"] {
        let error = guard.post_form(url, &form, None).await.unwrap_err();
        assert_eq!(
            error,
            EgressError::Transport(crate::egress::Stage::Connect),
            "{url}"
        );
    }
    let expected: Vec<SocketAddr> = vec![
        "10.1.2.3:443".parse().unwrap(),
        "172.20.0.4:443".parse().unwrap(),
    ];
    assert_eq!(connector.attempts(), expected);
}

#[tokio::test]
async fn unresolvable_names_are_refused_before_any_connect() {
    let empty = FakeResolver::default().with("idp.test", &[]);
    let outcome = call(EgressPolicy::strict(), empty, URL).await;
    assert_eq!(outcome.error, EgressError::UnresolvableHost);
    assert!(outcome.connects.is_empty());

    let unknown = FakeResolver::default();
    let outcome = call(EgressPolicy::strict(), unknown, URL).await;
    assert_eq!(outcome.error, EgressError::UnresolvableHost);
    assert!(outcome.connects.is_empty());
}

#[tokio::test]
async fn plain_http_is_refused_outside_local_mode_and_to_non_loopback_in_it() {
    let resolver = || FakeResolver::default().with("idp.test", &["127.0.0.1"]);
    let outcome = call(EgressPolicy::strict(), resolver(), "http://idp.test/t").await;
    assert_eq!(outcome.error, EgressError::NotHttps);
    assert_eq!(outcome.resolutions, 0);
    assert!(outcome.connects.is_empty());

    // Local mode: plain http to a public (or allow-listed) address is still refused.
    let public = FakeResolver::default().with("idp.test", &["93.184.215.14"]);
    let outcome = call(EgressPolicy::local(), public, "http://idp.test/t").await;
    assert_eq!(outcome.error, EgressError::NotHttps);
    assert!(outcome.connects.is_empty());
    let mut policy = EgressPolicy::local();
    policy.allow = crate::egress::parse_allow_list("10.0.0.0/8").unwrap();
    let private = FakeResolver::default().with("idp.test", &["10.0.0.5"]);
    let outcome = call(policy, private, "http://idp.test/t").await;
    assert_eq!(outcome.error, EgressError::NotHttps);
    assert!(outcome.connects.is_empty());
}

#[tokio::test]
async fn a_user_name_with_a_colon_is_refused_before_resolving() {
    let resolver = Arc::new(FakeResolver::default().with("idp.test", &["93.184.215.14"]));
    let connector = RecordingConnector::refuse();
    let error = guard(EgressPolicy::strict(), &resolver, &connector)
        .post_form(URL, &refresh_form(), Some(("a:b", "secret")))
        .await
        .unwrap_err();
    assert_eq!(error, EgressError::InvalidRequest);
    assert_eq!(resolver.calls(), 0);
    assert!(connector.attempts().is_empty());
}

#[test]
fn error_texts_are_fixed_and_quote_nothing() {
    use crate::egress::Stage;
    let all = [
        EgressError::InvalidUrl,
        EgressError::NotHttps,
        EgressError::UnresolvableHost,
        EgressError::ForbiddenAddress(AddressClass::Metadata),
        EgressError::Timeout,
        EgressError::Transport(Stage::Connect),
        EgressError::Transport(Stage::Tls),
        EgressError::Transport(Stage::Http),
        EgressError::Redirect,
        EgressError::TooLarge,
        EgressError::InvalidRequest,
    ];
    for error in all {
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains(CANARY), "{text}");
            assert!(
                !text.contains("idp.test") && !text.contains("token"),
                "{text}"
            );
        }
        assert!(!error.kind().is_empty());
    }
    assert!(EgressError::ForbiddenAddress(AddressClass::Private).is_refusal());
    assert!(!EgressError::Timeout.is_refusal());
}
