//! The worst case of one request fits inside the function timeout `template.yaml` allows:
//! the most AWS calls a use case makes, each bounded by the SDK operation timeout (which
//! includes the SDK's retries), plus a margin, is at most the smallest `FunctionTimeout`
//! the template accepts. Change the retry bound, a use case's calls, the SDK timeouts or
//! the template, and this fails until they agree again.

use std::time::Duration;

use credentials_core::service::{WORST_CASE_CALLS, WORST_CASE_CALLS_BY_USE_CASE};
use credentials_core::settings::DEFAULT_OPERATION_TIMEOUT;
use yaml_rust2::YamlLoader;

/// Left for what is not an AWS call: parsing, sealing, serializing, the runtime's overhead.
const MARGIN: Duration = Duration::from_secs(2);

fn function_timeout_bounds() -> (u64, u64) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    // CloudFormation tags (!Ref, !Sub…) are not YAML 1.2 core; the parameter block has none.
    let docs = YamlLoader::load_from_str(&text).expect("template parses");
    let param = &docs[0]["Parameters"]["FunctionTimeout"];
    let min = param["MinValue"]
        .as_i64()
        .expect("FunctionTimeout.MinValue");
    let default = param["Default"].as_i64().expect("FunctionTimeout.Default");
    (min as u64, default as u64)
}

#[test]
fn the_slowest_request_ends_before_the_function_times_out() {
    let (min, default) = function_timeout_bounds();
    assert!(default >= min);
    let worst = DEFAULT_OPERATION_TIMEOUT * WORST_CASE_CALLS as u32 + MARGIN;
    assert!(
        worst <= Duration::from_secs(min),
        "worst case {worst:?} ({WORST_CASE_CALLS} calls × {DEFAULT_OPERATION_TIMEOUT:?} + {MARGIN:?}) exceeds the smallest allowed FunctionTimeout ({min} s)"
    );
    for (use_case, calls) in WORST_CASE_CALLS_BY_USE_CASE {
        assert!(calls <= WORST_CASE_CALLS, "{use_case}");
    }
}

/// A resolve that refreshes an OAuth token ends before the resolver's own timeout: its
/// AWS calls, the refresh's, the token endpoint's total bound and the wait for another
/// caller's refresh.
#[test]
fn the_slowest_refreshing_resolve_ends_before_the_resolver_times_out() {
    use credentials_core::egress::DEFAULT_TOTAL_TIMEOUT;
    use credentials_core::service::refresh::{DEFAULT_REFRESH_WAIT, REFRESH_WORST_CASE_CALLS};
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    // The function's own `Timeout:` line (its properties have no CloudFormation tags).
    let resolver = text
        .split("  ResolveCredentialFunction:")
        .nth(1)
        .expect("the resolver's resource");
    let timeout: u64 = resolver
        .lines()
        .find_map(|l| l.trim().strip_prefix("Timeout: "))
        .and_then(|t| t.parse().ok())
        .expect("the resolver's Timeout");
    let resolve_calls = WORST_CASE_CALLS_BY_USE_CASE
        .iter()
        .find(|(name, _)| *name == "resolve")
        .map(|(_, calls)| *calls)
        .unwrap();
    let worst = DEFAULT_OPERATION_TIMEOUT * (resolve_calls + REFRESH_WORST_CASE_CALLS) as u32
        + DEFAULT_TOTAL_TIMEOUT
        + DEFAULT_REFRESH_WAIT
        + MARGIN;
    assert!(
        worst <= Duration::from_secs(timeout),
        "a refreshing resolve may take {worst:?}; the resolver's Timeout is {timeout} s"
    );
}

/// The table `template.yaml` deploys has the indexes, keys and projections the code
/// creates locally and queries (`credentials_core::store`).
#[test]
fn the_deployed_table_matches_the_code() {
    use credentials_core::store::{
        API_KEY_ATTRIBUTES, AUDIT_ATTRIBUTES, GSI_API_KEYS, GSI_AUDIT_BY_CREDENTIAL,
        GSI_BY_LAST_USE, GSI_BY_STATUS, GSI_BY_TYPE, GSI_TOKEN_REFRESH, LIST_ATTRIBUTES,
        TOKEN_REFRESH_ATTRIBUTES,
    };
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    let docs = YamlLoader::load_from_str(&text).expect("template parses");
    let indexes = docs[0]["Resources"]["CredentialsTable"]["Properties"]["GlobalSecondaryIndexes"]
        .as_vec()
        .expect("GlobalSecondaryIndexes");
    let expected = [
        (GSI_BY_STATUS, "gsi1pk", "gsi1sk", LIST_ATTRIBUTES),
        (GSI_BY_TYPE, "gsi2pk", "gsi2sk", LIST_ATTRIBUTES),
        (GSI_API_KEYS, "gsi3pk", "gsi3sk", API_KEY_ATTRIBUTES),
        (
            GSI_AUDIT_BY_CREDENTIAL,
            "gsi4pk",
            "gsi4sk",
            AUDIT_ATTRIBUTES,
        ),
        (
            GSI_TOKEN_REFRESH,
            "gsi5pk",
            "gsi5sk",
            TOKEN_REFRESH_ATTRIBUTES,
        ),
        (GSI_BY_LAST_USE, "gsi6pk", "gsi6sk", LIST_ATTRIBUTES),
    ];
    assert_eq!(indexes.len(), expected.len());
    for (name, pk, sk, attributes) in expected {
        let index = indexes
            .iter()
            .find(|i| i["IndexName"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("index {name} missing from template.yaml"));
        let keys: Vec<_> = index["KeySchema"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|k| k["AttributeName"].as_str().unwrap())
            .collect();
        assert_eq!(keys, [pk, sk], "{name}");
        assert_eq!(
            index["Projection"]["ProjectionType"].as_str(),
            Some("INCLUDE")
        );
        let projected: Vec<_> = index["Projection"]["NonKeyAttributes"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(projected, attributes, "{name}");
    }
}
