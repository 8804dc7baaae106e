//! What a credential's size can tell: a write that would pass the item limit is refused by
//! the service's own check, at a size that depends on the stored secrets' lengths only in
//! steps of `SEALED_SIZE_STEP` bytes, so a key that may write visible fields cannot pad a
//! credential until it is refused and read a secret's length from where that was.

use credentials_core::store::SEALED_SIZE_STEP;
use serde_json::{json, Value};
use test_harness::{secret, TestApp};

/// `bytes` of visible text as one list of strings of at most 256 characters (the most a
/// visible list element may hold): its size grows with `bytes` (up to 12,800).
fn filler(bytes: usize) -> Value {
    let mut items: Vec<String> = (0..bytes / 256).map(|_| "a".repeat(256)).collect();
    if !bytes.is_multiple_of(256) {
        items.push("a".repeat(bytes % 256));
    }
    json!(items)
}

/// `strings` list elements of 256 four-byte characters: 1,024 bytes each.
fn padding(strings: usize) -> Value {
    json!(vec!["\u{1F600}".repeat(256); strings])
}

/// The largest `fine` filler a password credential whose password has `password_chars`
/// characters still accepts, once padded near the limit; the next byte must be refused by
/// the service (413), not by the store.
async fn refusal_point(app: &TestApp, key: &str, name: &str, password_chars: usize) -> usize {
    let password = format!("{}{}", secret("pw"), "p".repeat(password_chars));
    let password = &password[password.len() - password_chars..];
    let created = app
        .create(
            key,
            json!({"name": name, "type": "password", "config": {"username": "u",
                "url": "https://svc.example.com", "password": password}}),
        )
        .await;
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    let put = |config: Value, visible: Option<Value>| {
        let (app, key, path) = (app.clone(), key.to_owned(), path.clone());
        async move {
            let mut body = json!({ "config": config });
            if let Some(visible) = visible {
                body["visible_fields"] = visible;
            }
            app.request("PUT", &path).key(&key).json(&body).send().await
        }
    };
    // Visible padding near the limit, under the body limit per request: 7 fields of 50
    // elements of 1,024 bytes and one of 38.
    let visible = json!(["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "fine", "tick"]);
    for fields in [["f0", "f1", "f2", "f3"], ["f4", "f5", "f6", "f7"]] {
        let config: serde_json::Map<String, Value> = fields
            .iter()
            .map(|&f| (f.to_owned(), padding(if f == "f7" { 38 } else { 50 })))
            .collect();
        let padded = put(Value::Object(config), Some(visible.clone())).await;
        assert_eq!(padded.status, 200, "{}", padded.text);
    }
    // The version number is stored too: bring it to two digits before searching (each
    // accepted probe adds one, at most 17 more).
    for tick in 0..8 {
        let ticked = put(json!({"tick": format!("t{tick}")}), None).await;
        assert_eq!(ticked.status, 200, "{}", ticked.text);
    }
    let (mut accepted, mut refused) = (0, 12_800);
    while refused - accepted > 1 {
        let probe = (accepted + refused) / 2;
        let answer = put(json!({"fine": filler(probe)}), None).await;
        match answer.status {
            200 => accepted = probe,
            _ => {
                answer.assert_error(413, "payload_too_large");
                refused = probe;
            }
        }
    }
    assert!(accepted > 0 && refused < 12_800, "{accepted}..{refused}");
    accepted
}

#[tokio::test(flavor = "multi_thread")]
async fn the_point_a_growing_credential_is_refused_at_hides_its_secrets_lengths() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    // 10 and 200 characters seal within one step (plus the 16-byte tag); 300 in the next.
    let short = refusal_point(&app, &key, "size-a", 10).await;
    let long = refusal_point(&app, &key, "size-b", 200).await;
    let longer = refusal_point(&app, &key, "size-c", 300).await;
    assert_eq!(
        short, long,
        "the refusal point tells 10 from 200 characters"
    );
    // Across a step it moves by the step, less the filler's own overhead (one byte per
    // list element it spans).
    let moved = short - longer;
    assert!(
        (SEALED_SIZE_STEP - 4..=SEALED_SIZE_STEP).contains(&moved),
        "{short} - {longer}"
    );
}
