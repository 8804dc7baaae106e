//! Truly concurrent requests (tasks on a multi-threaded runtime, each its own DynamoDB
//! call): uniqueness and conditional writes hold under races.

use futures::future::join_all;
use serde_json::json;
use test_harness::{database_body, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_concurrent_creates_of_one_name_make_exactly_one() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let tasks = (0..20).map(|i| {
        let app = app.clone();
        let key = key.clone();
        // Same name, different case and config: still one name.
        let name = if i % 2 == 0 { "Race-Name" } else { "race-name" };
        tokio::spawn(async move {
            app.request("POST", "/api/credentials")
                .key(&key)
                .json(&database_body(name).0)
                .send()
                .await
        })
    });
    let responses: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = responses.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for response in responses.iter().filter(|r| r.status != 201) {
        response.assert_error(409, "name_taken");
    }
    assert_eq!(app.items("CRED#").await.len(), 1);
    assert_eq!(app.items("NAME#").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_restore_and_purge_end_consistent() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    for round in 0..8 {
        let created = app
            .create(&key, database_body(&format!("contested-{round}")).0)
            .await;
        let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
        assert_eq!(
            app.request("DELETE", &path).key(&key).send().await.status,
            200
        );

        let restore = {
            let (app, key, path) = (app.clone(), key.clone(), path.clone());
            tokio::spawn(async move {
                app.request("POST", &format!("{path}/restore"))
                    .key(&key)
                    .send()
                    .await
            })
        };
        let purge = {
            let (app, key, path) = (app.clone(), key.clone(), path.clone());
            tokio::spawn(async move {
                app.request("DELETE", &format!("{path}/permanent"))
                    .key(&key)
                    .send()
                    .await
            })
        };
        let (restore, purge) = (restore.await.unwrap(), purge.await.unwrap());
        // Purge always wins in the end; restore either happened first or found nothing.
        assert_eq!(purge.status, 200, "{}", purge.text);
        assert!(matches!(restore.status, 200 | 404), "{}", restore.text);
        app.request("GET", &path)
            .key(&key)
            .send()
            .await
            .assert_error(404, "not_found");
    }
    // No orphan: neither credentials nor name reservations remain.
    assert!(app.items("CRED#").await.is_empty());
    assert!(app.items("NAME#").await.is_empty());
    // Every name is free again.
    app.create(&key, database_body("contested-0").0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_renames_to_one_name_let_exactly_one_through() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let mut paths = Vec::new();
    for i in 0..6 {
        let created = app.create(&key, database_body(&format!("src-{i}")).0).await;
        paths.push(format!(
            "/api/credentials/{}",
            created["id"].as_str().unwrap()
        ));
    }
    let tasks = paths.iter().map(|path| {
        let (app, key, path) = (app.clone(), key.clone(), path.clone());
        tokio::spawn(async move {
            app.request("PUT", &path)
                .key(&key)
                .json(&json!({"name": "target"}))
                .send()
                .await
        })
    });
    let responses: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(responses.iter().filter(|r| r.status == 200).count(), 1);
    for response in responses.iter().filter(|r| r.status != 200) {
        response.assert_error(409, "name_taken");
    }
    // Losers kept their names: 6 credentials, 6 reservations, names all distinct.
    assert_eq!(app.items("NAME#").await.len(), 6);
    let list = app
        .request("GET", "/api/credentials")
        .key(&key)
        .send()
        .await;
    let mut names: Vec<_> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 6);
    assert!(names.contains(&"target".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_partial_updates_lose_nothing_that_was_acknowledged() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app.create(&key, database_body("shared-edits").0).await;
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    let tasks = (0..8).map(|i| {
        let (app, key, path) = (app.clone(), key.clone(), path.clone());
        tokio::spawn(async move {
            let response = app
                .request("PUT", &path)
                .key(&key)
                .json(&json!({"config": {format!("field_{i}"): i}}))
                .send()
                .await;
            (i, response)
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let got = app.request("GET", &path).key(&key).send().await;
    // Undeclared fields are sealed: each acknowledged one is listed by name.
    let sealed = got.body["data"]["secret_fields"]
        .as_array()
        .unwrap()
        .clone();
    let mut applied = 0;
    for (i, response) in &results {
        match response.status {
            200 => {
                applied += 1;
                assert!(
                    sealed.contains(&json!(format!("field_{i}"))),
                    "acknowledged update {i} was lost"
                );
            }
            _ => response.assert_error(409, "conflict"),
        }
    }
    assert!(applied >= 1);
    assert_eq!(got.body["data"]["version"], 1 + applied);
}
