//! The Publica.la sandbox over real HTTP: as strict as the service's documented behaviour.

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use rollcall::providers::publica::sandbox::{Data, SEED_TOKEN, Sandbox};
use rollcall::providers::sandbox::Faults;
use serde_json::{Value, json};

struct Store {
    served: common::Served<Sandbox>,
    http: reqwest::Client,
}

async fn store(faults: Faults) -> Store {
    let served = common::serve(Sandbox::new(Data::seed(), None), faults).await;
    Store {
        served,
        http: common::http_client(),
    }
}

impl Store {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.served.url))
            .header("X-User-Token", SEED_TOKEN)
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn list(&self, query: &str) -> Value {
        let (status, _, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/integration-api/v1/dashboard/users?{query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]["paginator"].clone()
    }
}

const USERS: &str = "/integration-api/v1/dashboard/users";

fn new_reader() -> Value {
    json!({
        "external_id": "20001",
        "email": "new.reader@example.org",
        "new_password": "a-long-password",
        "assign_new_plan": 2,
        "new_plan_custom_valid_to": "2027-06-30",
        "admin": false,
        "plan_admin": false,
        "only_sees_readable": true,
        "sessions_limit": 3,
    })
}

#[tokio::test]
async fn the_token_header_is_required() {
    let s = store(Faults::default()).await;
    let response = s
        .http
        .get(format!("{}{USERS}", s.served.url))
        .header("X-User-Token", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "message": "Unauthenticated." })
    );
}

#[tokio::test]
async fn the_list_is_a_laravel_paginator_without_external_ids() {
    let s = store(Faults::default()).await;
    let page = s.list("per_page=2&page=1").await;
    assert_eq!(page["current_page"], 1);
    assert_eq!(page["last_page"], 2);
    assert_eq!(page["total"], 3, "the deactivated reader is not listed");
    assert_eq!(
        page["next_page_url"],
        "/integration-api/v1/dashboard/users?page=2"
    );
    let first = &page["data"][0];
    assert_eq!(first["admin"], 1, "flags are 0/1 in the list");
    assert!(first["created_at"].as_str().unwrap().ends_with(".000000Z"));
    assert!(
        first.get("external_id").is_none(),
        "the list does not return external_id"
    );
    let last = s.list("per_page=2&page=2").await;
    assert_eq!(last["next_page_url"], Value::Null);

    let deactivated = s.list("query=deactivated").await;
    assert_eq!(deactivated["total"], 1);
    assert_eq!(deactivated["data"][0]["email"], "carmen.vidal@example.org");
    assert!(deactivated["data"][0]["deleted_at"].is_string());

    let (status, _, body) = s
        .call(reqwest::Method::GET, &format!("{USERS}?per_page=101"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"]["per_page"][0],
        "The per page may not be greater than 100."
    );
}

#[tokio::test]
async fn create_checks_every_field_and_answers_in_its_own_shape() {
    let s = store(Faults::default()).await;
    let (status, _, body) = s
        .call(
            reqwest::Method::POST,
            &format!("{USERS}/"),
            Some(json!({ "admin": "maybe" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&String> = body["errors"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["admin", "email", "external_id", "new_password"]);
    assert_eq!(body["message"], "The email field is required.");

    let (status, _, body) = s
        .call(
            reqwest::Method::POST,
            &format!("{USERS}/"),
            Some(new_reader()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["CODE"], "success");
    assert_eq!(
        body["data"]["only_sees_readable"], true,
        "booleans in the create answer"
    );
    assert_eq!(body["data"]["created_at"]["timezone"], "UTC");
    assert!(body["data"].get("new_password").is_none());

    let (status, _, body) = s
        .call(
            reqwest::Method::POST,
            &format!("{USERS}/"),
            Some(new_reader()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"]["email"][0],
        "The email has already been taken."
    );
    assert_eq!(
        body["errors"]["external_id"][0],
        "The external id has already been taken."
    );

    let mut unknown_plan = new_reader();
    unknown_plan["external_id"] = "20002".into();
    unknown_plan["email"] = "other@example.org".into();
    unknown_plan["assign_new_plan"] = 99.into();
    let (status, _, body) = s
        .call(
            reqwest::Method::POST,
            &format!("{USERS}/"),
            Some(unknown_plan),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"]["assign_new_plan"][0],
        "The selected assign new plan is invalid."
    );
}

#[tokio::test]
async fn put_replaces_the_whole_record() {
    let s = store(Faults::default()).await;
    // Ana has a session limit of 2; a PUT that leaves it out resets it.
    let (status, _, body) = s
        .call(
            reqwest::Method::PUT,
            &format!("{USERS}/2"),
            Some(json!({ "external_id": "10041", "email": "ana.torres@example.org", "only_sees_readable": 1, "admin": 1 })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let ana = s
        .served
        .sandbox
        .data()
        .users
        .into_iter()
        .find(|u| u.id == 2)
        .unwrap();
    assert!(ana.admin);
    assert_eq!(ana.sessions_limit, None, "left out, so reset");
    assert_eq!(
        ana.plan_id,
        Some(1),
        "the plan stays unless a new one is assigned"
    );

    let (status, _, body) = s
        .call(
            reqwest::Method::PUT,
            &format!("{USERS}/2"),
            Some(json!({ "email": "ana.torres@example.org" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&String> = body["errors"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["external_id", "only_sees_readable"]);

    let (status, _, _) = s
        .call(
            reqwest::Method::PUT,
            &format!("{USERS}/999"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deactivate_reactivate_and_force_logout() {
    let s = store(Faults::default()).await;
    let (status, _, body) = s
        .call(reqwest::Method::DELETE, &format!("{USERS}/2"), None)
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "CODE": "success", "data": [] }))
    );
    assert_eq!(s.list("query=deactivated").await["total"], 2);
    assert_eq!(s.list("").await["total"], 2);

    let (status, _, body) = s
        .call(
            reqwest::Method::PUT,
            &format!("{USERS}/2/re-activate"),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "CODE": "success", "data": 1 }))
    );
    assert_eq!(s.list("").await["total"], 3);

    // No `/dashboard/` in this path, and the external id works as well as the id.
    let (status, _, _) = s
        .call(
            reqwest::Method::POST,
            "/integration-api/v1/users/10041/force-logout",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        s.served
            .sandbox
            .data()
            .users
            .iter()
            .find(|u| u.id == 2)
            .unwrap()
            .sessions,
        0
    );
}

#[tokio::test]
async fn rate_limits_are_reported_in_headers() {
    let s = store(Faults {
        rate_limit: Some((2, Duration::from_secs(60))),
        ..Faults::default()
    })
    .await;
    let (_, headers, _) = s.call(reqwest::Method::GET, USERS, None).await;
    assert_eq!(headers["x-ratelimit-limit"], "2");
    assert_eq!(headers["x-ratelimit-remaining"], "1");
    s.call(reqwest::Method::GET, USERS, None).await;
    let (status, headers, body) = s.call(reqwest::Method::GET, USERS, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body, json!({ "message": "Too Many Attempts." }));
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert!(headers.contains_key("retry-after") && headers.contains_key("x-ratelimit-reset"));
}
