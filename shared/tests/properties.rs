//! Property tests over everything that reads client input: no panic, and every invalid
//! input is a 4xx whose body repeats none of the submitted values.

use credentials_core::cursor;
use credentials_core::model::{is_credential_id, new_credential_id};
use credentials_core::validate::{self, MAX_NAME_CHARS};
use credentials_core::{api, idempotency};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

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
        let stored = credentials_core::model::StoredCredential::new(
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

    /// A cursor is accepted exactly when it is an id of its list (the shape the spec's
    /// cursor pattern states), and round-trips.
    #[test]
    fn cursors_are_ids_of_their_list(garbage in ".{0,600}", tail in "[0-9a-hjkmnp-tv-z]{26}") {
        let id = new_credential_id();
        prop_assert_eq!(cursor::decode(&cursor::encode(&id)).map(|c| c.after_id), Some(id));
        prop_assert_eq!(cursor::decode(&garbage).is_some(), is_credential_id(&garbage));
        prop_assert_eq!(cursor::decode_events(&garbage).is_some(), garbage.starts_with("evt_") && is_credential_id(&garbage.replacen("evt_", "cred_", 1)));
        let any_position = format!("cred_{tail}");
        prop_assert!(cursor::decode(&any_position).is_some());
        let event_position = format!("evt_{tail}");
        prop_assert!(cursor::decode_events(&event_position).is_some());
    }

    #[test]
    fn routing_and_ids_never_panic(method in "[A-Z]{0,8}", path in "(/v1)?(/api)?(/credentials)?(/[^/]{0,40}){0,3}") {
        let _ = api::resolve(&method, &path);
        let _ = api::routes::path_id(&path);
        let _ = api::routes::allowed_methods(&path);
        for segment in path.split('/') {
            if is_credential_id(segment) {
                prop_assert!(segment.starts_with("cred_") && segment.len() == 31);
            }
        }
    }

    /// Any password embedded in URL userinfo or a `password=` pair, under any field the
    /// client picks, is either refused or sealed: the answer never shows it. (Passwords are
    /// generated without the characters that separate pairs in these shapes: `;`, `&`, `=`.)
    #[test]
    fn an_embedded_password_never_reaches_an_answer(
        password in "[A-Za-z0-9][A-Za-z0-9!$()+,~._-]{5,39}",
        user in "[a-z][a-z0-9]{0,11}",
        field in prop_oneof![Just("host"), Just("database"), Just("note"), Just("dsnHint"), Just("endpoint")],
        shape in 0usize..4,
    ) {
        let value = match shape {
            0 => format!("postgres://{user}:{password}@db.example.com:5432/prod"),
            1 => format!("jdbc:mysql://db.example.com/prod?user={user}&password={password}"),
            2 => format!("Server=db;User ID={user};Password={password};"),
            _ => format!("host=db user={user} password={password}"),
        };
        let body = json!({"name": "n", "type": "database", "config": {"host": "db", field: value}});
        match validate::new_credential(body) {
            Ok(mut input) => {
                let sealed = input.secrets.keys().map(|k| (k.clone(), credentials_core::model::SealedSecret {
                    encrypted_data_key: vec![1], nonce: vec![2], ciphertext: vec![3],
                })).collect();
                input.secrets.clear();
                let credential = credentials_core::model::StoredCredential::new("ws", new_credential_id(), input, sealed, "key_1", "t");
                let answer = credentials_core::model::document(credential.view(), None::<()>);
                prop_assert!(!String::from_utf8_lossy(&answer).contains(&password));
            }
            Err(err) => {
                prop_assert_eq!(err.status(), 400);
                let rendered = serde_json::to_string(&err.body("req")).unwrap();
                prop_assert!(!rendered.contains(&password));
            }
        }
    }

    #[test]
    fn idempotency_keys_are_checked_without_panic(key in ".{0,300}") {
        let ok = idempotency::check_key(&key).is_ok();
        prop_assert_eq!(ok, !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic()));
    }
}
