//! Address classification, the policy's verdicts, and the allow-list.

use std::net::IpAddr;

use crate::egress::AddressClass::{self, *};
use crate::egress::{classify, parse_allow_list, AllowEntry, EgressPolicy, PolicyError};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an address")
}

/// Address → class, and whether the strict and the local policy (no allow-list) allow it.
const TABLE: &[(&str, AddressClass, bool, bool)] = &[
    // Public.
    ("93.184.215.14", Public, true, true),
    ("8.8.8.8", Public, true, true),
    ("2606:4700::1111", Public, true, true),
    ("::ffff:93.184.215.14", Public, true, true),
    ("64:ff9b::808:808", Public, true, true),
    ("2002:808:808::1", Public, true, true),
    // Loopback: local mode only.
    ("127.0.0.1", Loopback, false, true),
    ("127.255.0.9", Loopback, false, true),
    ("::1", Loopback, false, true),
    ("::ffff:127.0.0.1", Loopback, false, true),
    // RFC 1918, CGNAT, link-local, ULA.
    ("10.0.0.5", Private, false, false),
    ("172.16.1.1", Private, false, false),
    ("172.31.255.255", Private, false, false),
    ("192.168.1.1", Private, false, false),
    ("::ffff:10.0.0.1", Private, false, false),
    ("64:ff9b::a00:1", Private, false, false),
    ("2002:a00:1::", Private, false, false),
    ("100.64.0.1", SharedCgnat, false, false),
    ("100.127.255.254", SharedCgnat, false, false),
    ("169.254.1.1", LinkLocal, false, false),
    ("fe80::1", LinkLocal, false, false),
    ("fc00::1", UniqueLocal, false, false),
    ("fd12:3456::1", UniqueLocal, false, false),
    // Metadata and credential endpoints.
    ("169.254.169.254", Metadata, false, false),
    ("::ffff:169.254.169.254", Metadata, false, false),
    ("64:ff9b::a9fe:a9fe", Metadata, false, false),
    ("169.254.170.2", Metadata, false, false),
    ("169.254.170.23", Metadata, false, false),
    ("fd00:ec2::254", Metadata, false, false),
    ("fd00:ec2::23", Metadata, false, false),
    // Never.
    ("224.0.0.1", Multicast, false, false),
    ("239.255.255.250", Multicast, false, false),
    ("ff02::1", Multicast, false, false),
    ("0.0.0.0", Unspecified, false, false),
    ("0.1.2.3", Unspecified, false, false),
    ("::", Unspecified, false, false),
    ("255.255.255.255", Broadcast, false, false),
    // Documentation and reserved.
    ("192.0.2.1", Documentation, false, false),
    ("198.51.100.7", Documentation, false, false),
    ("203.0.113.9", Documentation, false, false),
    ("2001:db8::1", Documentation, false, false),
    ("3fff::1", Documentation, false, false),
    ("192.0.0.192", Reserved, false, false),
    ("192.88.99.1", Reserved, false, false),
    ("198.18.0.1", Reserved, false, false),
    ("240.0.0.1", Reserved, false, false),
    ("::a00:1", Reserved, false, false),
    ("100::1", Reserved, false, false),
    ("2001::1", Reserved, false, false),
    ("fec0::1", Reserved, false, false),
    ("4000::1", Reserved, false, false),
];

#[test]
fn classification_and_verdicts_follow_the_table() {
    let strict = EgressPolicy::strict();
    let local = EgressPolicy::local();
    for &(text, class, strict_ok, local_ok) in TABLE {
        let addr = ip(text);
        assert_eq!(classify(addr), class, "{text}");
        let expect = |ok: bool| if ok { Ok(()) } else { Err(class) };
        assert_eq!(
            strict.check(Some("idp.test"), addr),
            expect(strict_ok),
            "strict {text}"
        );
        assert_eq!(
            local.check(Some("idp.test"), addr),
            expect(local_ok),
            "local {text}"
        );
    }
}

fn with_allow(list: &str) -> EgressPolicy {
    EgressPolicy {
        allow: parse_allow_list(list).expect("a valid list"),
        ..EgressPolicy::strict()
    }
}

#[test]
fn an_allow_listed_range_opens_the_classes_it_may() {
    let policy = with_allow("10.1.2.0/24,100.64.0.0/10,169.254.0.0/16,fd00::/8,192.0.2.0/24");
    for allowed in [
        "10.1.2.3",
        "::ffff:10.1.2.3",
        "100.64.0.1",
        "169.254.1.1",
        "fd12::1",
        "192.0.2.1",
    ] {
        assert_eq!(policy.check(None, ip(allowed)), Ok(()), "{allowed}");
    }
    // Outside the ranges, or in a class no range opens.
    for (refused, class) in [
        ("10.1.3.1", Private),
        ("fc00::1", UniqueLocal),
        ("169.254.169.254", Metadata),
        ("169.254.170.2", Metadata),
        ("fd00:ec2::254", Metadata),
    ] {
        assert_eq!(policy.check(None, ip(refused)), Err(class), "{refused}");
    }
}

#[test]
fn a_metadata_address_opens_only_when_named_exactly() {
    for (list, addr) in [
        ("169.254.169.254", "169.254.169.254"),
        ("169.254.169.254/32", "169.254.169.254"),
        ("169.254.169.254", "::ffff:169.254.169.254"),
        ("fd00:ec2::254", "fd00:ec2::254"),
        ("[fd00:ec2::254]", "fd00:ec2::254"),
    ] {
        assert_eq!(
            with_allow(list).check(None, ip(addr)),
            Ok(()),
            "{list} {addr}"
        );
    }
    for (list, addr) in [
        ("169.254.169.0/24", "169.254.169.254"),
        ("0.0.0.0/0", "169.254.169.254"),
        ("fd00:ec2::/32", "fd00:ec2::254"),
        ("::/0", "fd00:ec2::254"),
        ("169.254.169.254", "169.254.170.2"),
    ] {
        assert_eq!(
            with_allow(list).check(None, ip(addr)),
            Err(Metadata),
            "{list} {addr}"
        );
    }
    // A host entry does not open it either.
    let policy = with_allow("internal-idp.corp");
    let metadata = ip("169.254.169.254");
    assert_eq!(
        policy.check(Some("internal-idp.corp"), metadata),
        Err(Metadata)
    );
}

#[test]
fn no_allow_list_opens_loopback_multicast_unspecified_or_broadcast() {
    let policy = with_allow("0.0.0.0/0,::/0,idp.test");
    for (addr, class) in [
        ("127.0.0.1", Loopback),
        ("::1", Loopback),
        ("224.0.0.1", Multicast),
        ("ff02::1", Multicast),
        ("0.0.0.0", Unspecified),
        ("::", Unspecified),
        ("255.255.255.255", Broadcast),
    ] {
        assert_eq!(
            policy.check(Some("idp.test"), ip(addr)),
            Err(class),
            "{addr}"
        );
    }
    // The wide ranges do open the allow-listable classes.
    assert_eq!(policy.check(None, ip("10.0.0.5")), Ok(()));
}

#[test]
fn a_host_entry_opens_its_own_answers_only() {
    let policy = with_allow("Internal-IdP.corp.");
    let private = ip("10.9.8.7");
    assert_eq!(policy.check(Some("internal-idp.corp"), private), Ok(()));
    assert_eq!(policy.check(Some("other.corp"), private), Err(Private));
    assert_eq!(policy.check(None, private), Err(Private));
    assert_eq!(
        policy.check(Some("internal-idp.corp"), ip("::1")),
        Err(Loopback)
    );
}

#[test]
fn allow_lists_parse_addresses_ranges_and_host_names() {
    let list = parse_allow_list(" 10.1.2.0/24, internal-idp.corp ,,fd00::/8, 192.168.1.7,[::1],")
        .expect("a valid list");
    let net = |text: &str| AllowEntry::Net(text.parse().expect("a net"));
    assert_eq!(
        list,
        vec![
            net("10.1.2.0/24"),
            AllowEntry::Host("internal-idp.corp".into()),
            net("fd00::/8"),
            net("192.168.1.7/32"),
            net("::1/128"),
        ]
    );
    // Host bits of a range are dropped; a mapped address is its IPv4 address.
    assert_eq!(
        parse_allow_list("10.1.2.3/24").unwrap(),
        vec![net("10.1.2.0/24")]
    );
    assert_eq!(
        parse_allow_list("::ffff:10.0.0.1").unwrap(),
        vec![net("10.0.0.1/32")]
    );
    assert_eq!(parse_allow_list("").unwrap(), vec![]);
    for bad in [
        "10.0.0.0/33",
        "10.0.0/8",
        "*.corp",
        "https://idp.corp",
        "idp.corp:8443",
        "idp corp",
        ".",
    ] {
        assert_eq!(
            parse_allow_list(&format!("10.0.0.0/8,{bad}")),
            Err(PolicyError::InvalidAllowEntry(bad.to_owned())),
            "{bad}"
        );
    }
}

#[test]
fn local_mode_reads_true_or_false_and_nothing_else() {
    for (value, expected) in [
        (None, false),
        (Some(""), false),
        (Some("false"), false),
        (Some("0"), false),
        (Some("true"), true),
        (Some(" 1 "), true),
        (Some("TRUE"), true),
    ] {
        let policy = EgressPolicy::from_values(value, None).expect("a valid value");
        assert_eq!(policy.local_mode, expected, "{value:?}");
    }
    for value in ["yes", "TRUE!", "on"] {
        assert_eq!(
            EgressPolicy::from_values(Some(value), None).unwrap_err(),
            PolicyError::InvalidLocalMode
        );
    }
    let policy = EgressPolicy::from_values(None, Some("10.1.2.0/24,internal-idp.corp")).unwrap();
    assert_eq!(policy.allow.len(), 2);
    assert!(!policy.local_mode);
    assert_eq!(
        policy.connect_timeout,
        crate::egress::DEFAULT_CONNECT_TIMEOUT
    );
    assert_eq!(policy.total_timeout, crate::egress::DEFAULT_TOTAL_TIMEOUT);
    assert_eq!(
        policy.max_response_bytes,
        crate::egress::DEFAULT_MAX_RESPONSE_BYTES
    );
}
