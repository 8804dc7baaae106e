//! The URL checks, before anything is resolved.

use std::net::IpAddr;

use crate::egress::target::{Host, Scheme, Target};
use crate::egress::{EgressError, EgressPolicy};

fn parse(url: &str, policy: &EgressPolicy) -> Result<Target, EgressError> {
    Target::parse(url, policy)
}

#[test]
fn https_urls_keep_host_port_and_request_target() {
    let strict = EgressPolicy::strict();
    let target = parse("https://IdP.Example.COM./oauth/token?tenant=a%20b", &strict).unwrap();
    assert_eq!(target.scheme, Scheme::Https);
    assert_eq!(target.host, Host::Domain("idp.example.com".into()));
    assert_eq!(target.port, 443);
    assert_eq!(target.authority, "idp.example.com.");
    assert_eq!(target.path_and_query, "/oauth/token?tenant=a%20b");
    assert_eq!(target.log_host(), "idp.example.com");

    let target = parse("https://idp.example.com:8443", &strict).unwrap();
    assert_eq!(target.port, 8443);
    assert_eq!(target.authority, "idp.example.com:8443");
    assert_eq!(target.path_and_query, "/");

    let target = parse("https://[2606:4700::1111]:444/t", &strict).unwrap();
    assert_eq!(target.host, Host::Ip("2606:4700::1111".parse().unwrap()));
    assert_eq!(target.authority, "[2606:4700::1111]:444");
    assert_eq!(target.domain(), None);
}

#[test]
fn ip_literals_in_any_spelling_are_addresses_not_names() {
    let strict = EgressPolicy::strict();
    for (url, addr) in [
        ("https://127.0.0.1/", "127.0.0.1"),
        ("https://0x7f.1/", "127.0.0.1"),
        ("https://2130706433/", "127.0.0.1"),
        ("https://[::ffff:10.0.0.1]/", "10.0.0.1"),
        ("https://[fd00:ec2::254]/", "fd00:ec2::254"),
    ] {
        let target = parse(url, &strict).unwrap();
        let expected: IpAddr = addr.parse().unwrap();
        match target.host {
            Host::Ip(found) => assert_eq!(found.to_canonical(), expected, "{url}"),
            Host::Domain(name) => panic!("{url} parsed as the name {name}"),
        }
    }
}

#[test]
fn plain_http_only_in_local_mode_and_other_schemes_never() {
    let strict = EgressPolicy::strict();
    let local = EgressPolicy::local();
    let url = "http://127.0.0.1:8080/token";
    assert!(matches!(parse(url, &strict), Err(EgressError::NotHttps)));
    let target = parse(url, &local).unwrap();
    assert_eq!(target.scheme, Scheme::Http);
    assert_eq!(target.port, 8080);
    for url in [
        "ftp://idp.test/",
        "file:///etc/passwd",
        "ws://idp.test/",
        "gopher://x/",
    ] {
        assert!(
            matches!(parse(url, &local), Err(EgressError::NotHttps)),
            "{url}"
        );
    }
}

#[test]
fn malformed_urls_user_information_and_fragments_are_refused() {
    let strict = EgressPolicy::strict();
    for url in [
        "",
        "idp.test/token",
        "/token",
        "https://",
        "https://user@idp.test/token",
        "https://user:pass@idp.test/token",
        "https://idp.test@127.0.0.1/token",
        "https://idp.test/token#fragment",
        "https://idp.test:0/token",
        "https://idp.test:99999/token",
        "https://./token",
        "https://[::1/token",
    ] {
        assert!(
            matches!(parse(url, &strict), Err(EgressError::InvalidUrl)),
            "{url:?}"
        );
    }
}
