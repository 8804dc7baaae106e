//! Property tests over everything that reads a request body: no panic, every invalid input
//! is a 400 whose body repeats none of the submitted values, and no embedded password
//! reaches an answer. Seeds and case counts come from `crate::properties::config`.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::domain::{SealedSecret, StoredCredential};
use crate::ids::new_credential_id;
use crate::validate::{self, MAX_NAME_CHARS};
use crate::views;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}|.{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("aws".to_owned()),
        Just("database".to_owned()),
        Just("password".to_owned()),
        Just("oauth".to_owned()),
        ".{0,10}",
    ]
}

/// A create body that is often nearly valid, so that deep rules get exercised.
fn create_body() -> impl Strategy<Value = Value> {
    (
        prop::option::of(json_value()),
        prop::option::of(".{0,140}"),
        kind(),
        prop::collection::btree_map("[a-z_]{1,20}|.{0,6}", json_value(), 0..8),
    )
        .prop_map(|(extra, name, kind, config)| {
            let mut body = json!({"type": kind, "config": config});
            if let Some(name) = name {
                body["name"] = Value::from(name);
            }
            if let Some(extra) = extra {
                body["extra"] = extra;
            }
            body
        })
}

fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

/// The answer a create body would get: its view, secrets sealed (with dummy bytes).
fn answer_of(body: Value) -> Result<String, crate::error::ApiError> {
    let mut input = validate::new_credential(body)?;
    let sealed = input
        .secrets
        .keys()
        .map(|k| {
            let dummy = SealedSecret {
                encrypted_data_key: vec![1],
                nonce: vec![2],
                ciphertext: vec![3],
                encoding: crate::domain::Encoding::Text,
                bound: true,
            };
            (k.clone(), dummy)
        })
        .collect();
    input.secrets.clear();
    let credential = StoredCredential::new("ws", new_credential_id(), input, sealed, "key_1", "t");
    Ok(String::from_utf8_lossy(&views::document(
        views::Credential::from(&credential),
        None::<()>,
    ))
    .into_owned())
}

/// A password embedded in `value` under `field` of a database credential is refused or
/// sealed: neither the answer nor the error shows it. `note` and `dsnHint` are made visible
/// by the client (`visible_fields`); `endpoint` stays undeclared (sealed).
fn password_never_shown(field: &str, value: &str, password: &str) -> Result<(), TestCaseError> {
    let body = json!({"name": "n", "type": "database", "visible_fields": ["note", "dsnHint"],
                      "config": {"host": "db", field: value}});
    match answer_of(body) {
        Ok(answer) => prop_assert!(!answer.contains(password), "{field}: the answer shows it"),
        Err(err) => {
            prop_assert_eq!(err.status(), 400);
            let rendered = serde_json::to_string(&err.body("req")).unwrap();
            prop_assert!(!rendered.contains(password));
        }
    }
    Ok(())
}

/// The value shapes the embedded-password property builds.
const SHAPES: usize = 10;

fn embedding(shape: usize, user: &str, password: &str) -> String {
    match shape {
        0 => format!("postgres://{user}:{password}@db.example.com:5432/prod"),
        1 => format!("jdbc:mysql://db.example.com/prod?user={user}&password={password}"),
        2 => format!("Server=db;User ID={user};Password={password};"),
        3 => format!("host=db user={user} password={password}"),
        4 => format!("{user}:{password}@db.example.com:5432/prod"),
        5 => format!("{user}/{password}@orcl.example.com:1521/ORCLPDB1"),
        6 => format!("db.example.com:5432:prod:{user}:{password}"),
        7 => format!("machine db.example.com login {user} password {password}"),
        8 => format!("the password is {password}"),
        _ => format!("password:{password}"),
    }
}

proptest! {
    #![proptest_config(crate::properties::config(512))]

    #[test]
    fn any_bytes_parse_or_are_refused_as_invalid_json(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err(err) = validate::parse_json(&bytes) {
            prop_assert_eq!(err.status(), 400);
        }
    }

    #[test]
    fn create_validation_never_panics_and_never_echoes(body in create_body()) {
        let mut submitted = Vec::new();
        strings_in(&body, &mut submitted);
        if let Err(err) = validate::new_credential(body) {
            prop_assert_eq!(err.status(), 400);
            let rendered = serde_json::to_string(&err.body("req")).unwrap();
            for value in submitted.iter().filter(|s| s.len() >= 12) {
                prop_assert!(!rendered.contains(value.as_str()), "error repeats a submitted value");
            }
        }
    }

    #[test]
    fn update_validation_never_panics(patch in json_value(), name in prop::option::of(".{0,140}")) {
        let current = validate::new_credential(json!({
            "name": "current", "type": "database",
            "config": {"host": "h", "password": "p"}
        })).unwrap();
        let stored = StoredCredential::new(
            "ws",
            new_credential_id(),
            current,
            Default::default(),
            "key_1",
            "2025-01-01T00:00:00Z",
        );
        let mut body = json!({"config": patch});
        if let Some(name) = name {
            body["name"] = Value::from(name);
        }
        if let Err(err) = validate::credential_change(body, &stored) {
            prop_assert_eq!(err.status(), 400);
        }
    }

    #[test]
    fn clean_unicode_names_are_accepted_and_invisible_characters_refused(
        name in "[a-zA-Z0-9 à-ÿА-я一-龥.,_()#@-]{1,128}",
        control in "[\\p{Cc}\\p{Cf}\\p{Co}]",
        at in 0usize..128,
    ) {
        let body = |name: &str| json!({"name": name, "type": "password", "config": {"password": "p-value"}});
        let accepted = validate::new_credential(body(&name)).is_ok();
        prop_assert_eq!(accepted, !name.trim().is_empty() && name.chars().count() <= MAX_NAME_CHARS);
        let mut chars: Vec<char> = name.chars().collect();
        let at = at.min(chars.len());
        chars.insert(at, control.chars().next().unwrap());
        let dirty: String = chars.into_iter().collect();
        prop_assert!(validate::new_credential(body(&dirty)).is_err());
    }

    /// Any password embedded in URL userinfo or a `password=` pair, under any field the
    /// client picks, is either refused or sealed: the answer never shows it. The password
    /// may hold any printable ASCII but blanks.
    #[test]
    fn an_embedded_password_never_reaches_an_answer(
        password in "[!-~]{6,40}",
        user in "[a-z][a-z0-9]{0,11}",
        field in prop_oneof![Just("host"), Just("database"), Just("note"), Just("dsnHint"), Just("endpoint")],
        shape in 0usize..SHAPES,
    ) {
        // `user:password@host` whose password starts with `//` is the same text as a URL
        // with only a username (`user://…@host`), which is shown (documented).
        prop_assume!(!(shape == 4 && password.starts_with("//")));
        password_never_shown(field, &embedding(shape, &user, &password), &password)?;
    }
}

/// Counterexamples the property found, kept as examples (each failed once).
#[test]
fn passwords_found_by_the_property_are_never_shown() {
    for (field, value, password) in [
        // 2026-11: `;` `=` inside a JDBC query password, under the declared `host`.
        ("host", embedding(1, "a", ";a;=_="), ";a;=_="),
        // 2026-12 (issue #18's fresh-clone failure): `,` and `$` inside a JDBC password.
        ("host", embedding(1, "a", "on,$00"), "on,$00"),
    ] {
        password_never_shown(field, &value, password).unwrap();
    }
}
