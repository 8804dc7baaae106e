//! Every response a test receives is checked against `openapi.yaml`: its status must be
//! documented for the operation, and its JSON body must match the documented schema.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use credentials_core::http::{match_route, RouteMatch};
use jsonschema::{Draft, Validator};
use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => panic!("unsupported key {other:?}"),
                    };
                    (key, to_json(v))
                })
                .collect::<Map<_, _>>(),
        ),
        Yaml::Null => Value::Null,
        other => panic!("unsupported YAML node {other:?}"),
    }
}

/// The published contract, as JSON.
pub static SPEC: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml"))
        .expect("openapi.yaml");
    let docs = YamlLoader::load_from_str(&text).expect("openapi.yaml is YAML");
    to_json(&docs[0])
});

static VALIDATORS: LazyLock<Mutex<HashMap<String, &'static Validator>>> =
    LazyLock::new(Default::default);

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// A validator for the schema at `pointer` inside the spec (refs resolve against the spec).
fn validator(pointer: &str) -> &'static Validator {
    let mut cache = VALIDATORS.lock().unwrap();
    cache.entry(pointer.to_owned()).or_insert_with(|| {
        let mut root = SPEC.clone();
        root["$ref"] = Value::String(format!("#{pointer}"));
        let built = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema at {pointer}: {e}"));
        Box::leak(Box::new(built))
    })
}

/// True when `value` is valid against the schema at `pointer` (e.g.
/// `/components/schemas/CreateCredential`): what a client validating against the spec sees.
pub fn schema_accepts(pointer: &str, value: &Value) -> bool {
    validator(pointer).is_valid(value)
}

/// Asserts that `status` and `body` are what the spec documents for `method path`.
#[track_caller]
pub fn check(method: &str, path: &str, status: u16, body: &Value) {
    let template = match match_route(method, path) {
        RouteMatch::Found { route, .. } => route.path(),
        // Unknown routes are the gateway's, not the API's: nothing to check.
        RouteMatch::NotFound => return,
        RouteMatch::MethodNotAllowed => {
            // Any documented path of this shape lists 405; check the body against Error.
            let errors = validator("/components/schemas/Error");
            assert!(
                errors.is_valid(body),
                "405 body breaks the Error schema: {body}"
            );
            return;
        }
    };
    let operation = format!(
        "/paths/{}/{}",
        escape(template),
        method.to_ascii_lowercase()
    );
    let responses = SPEC
        .pointer(&format!("{operation}/responses"))
        .unwrap_or_else(|| panic!("{method} {template} is not in openapi.yaml"));
    let mut response = responses.get(status.to_string()).unwrap_or_else(|| {
        panic!("{method} {template} answered {status}, which openapi.yaml does not document")
    });
    if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
        response = SPEC
            .pointer(reference.trim_start_matches('#'))
            .expect("response ref");
    }
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        return;
    };
    let pointer = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference.trim_start_matches('#').to_owned(),
        None => format!("{operation}/responses/{status}/content/application~1json/schema"),
    };
    let errors: Vec<String> = validator(&pointer)
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} -> {status}: the body breaks openapi.yaml:\n{}\n{body}",
        errors.join("\n")
    );
}
