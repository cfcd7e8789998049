//! The Piwik PRO sandbox's apps, meta sites, user groups and permissions over real HTTP: as
//! strict as the specs, and able to take either reading of each open point of `apis.md` §7.

mod common;

use reqwest::{Method, StatusCode};
use rollcall::providers::piwik::sandbox::{Data, Options, SEED_CLIENT, Sandbox, User};
use rollcall::providers::sandbox::Faults;
use serde_json::{Value, json};

const JSON_API: &str = "application/vnd.api+json";
/// The seed's ids: users 1 (the API owner) to 5, apps 0x101 to 0x103, the meta site 0x201 and
/// the groups 0x301 (Marketing: users 2 and 3) and 0x302 (Analysts: user 4).
fn id(n: u128) -> String {
    uuid::Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0000_0000 + n).to_string()
}

struct Account {
    served: common::Served<Sandbox>,
    http: reqwest::Client,
    token: String,
}

async fn account(variants: &[&str]) -> Account {
    account_with(Data::seed(), variants).await
}

async fn account_with(data: Data, variants: &[&str]) -> Account {
    let mut options = Options::default();
    for variant in variants {
        assert!(options.variant(variant), "{variant} is a variant");
    }
    let served = common::serve(Sandbox::new(data, options), Faults::default()).await;
    let http = common::http_client();
    let answer: Value = http
        .post(format!("{}/auth/token", served.url))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": SEED_CLIENT.0,
            "client_secret": SEED_CLIENT.1,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["access_token"].as_str().unwrap().to_string();
    Account {
        served,
        http,
        token,
    }
}

impl Account {
    /// Sends a request; `body` goes as `content_type`. Returns the status, the content type and
    /// the body (`null` when empty).
    async fn call(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Option<Value>,
    ) -> (StatusCode, String, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.served.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", content_type)
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            kind,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn get(&self, path: &str) -> Value {
        let (status, kind, body) = self.call(Method::GET, path, "", None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(kind, JSON_API, "{path}");
        body
    }

    async fn set(
        &self,
        entity: &str,
        on: &str,
        principal: &str,
        to: &str,
        permission: &str,
    ) -> (StatusCode, Value) {
        let path = format!("/api/access-control/v2/{entity}/{on}/permission/{principal}/{to}");
        let body = json!({ "data": {
            "type": format!("{entity}/permission/{principal}"),
            "attributes": { "permission": permission },
        }});
        let (status, _, body) = self.call(Method::POST, &path, JSON_API, Some(body)).await;
        (status, body)
    }

    /// `email: permission (groups: permission)` for each user row of an app's or meta site's list.
    async fn user_rows(&self, entity: &str, on: &str) -> Vec<String> {
        let body = self
            .get(&format!(
                "/api/access-control/v2/{entity}/{on}/permission/user?limit=1000"
            ))
            .await;
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let a = &row["attributes"];
                format!(
                    "{}: {} ({})",
                    a["email"].as_str().unwrap(),
                    a["permission"].as_str().unwrap(),
                    a["group_permissions"]
                )
            })
            .collect()
    }

    async fn create_group(&self, content_type: &str, name: &str) -> (StatusCode, Value) {
        let body = json!({ "data": { "type": "ppms/user-group", "attributes": { "name": name } } });
        let (status, _, body) = self
            .call(
                Method::POST,
                "/api/user-groups/v1",
                content_type,
                Some(body),
            )
            .await;
        (status, body)
    }
}

#[tokio::test]
async fn an_apps_user_list_shows_direct_and_group_grants_and_leaves_out_owners() {
    let account = account(&[]).await;
    let body = account
        .get(&format!(
            "/api/access-control/v2/app/{}/permission/user",
            id(0x101)
        ))
        .await;
    assert_eq!(
        body,
        json!({
            "meta": { "total": 2 },
            "data": [
                {
                    "id": id(2),
                    "type": "app/permission/user",
                    "attributes": {
                        "email": "ada@acme.org",
                        "permission": "manage",
                        "group_permissions": { "group_names": ["Marketing"], "permission": "edit" },
                    },
                },
                {
                    "id": id(3),
                    "type": "app/permission/user",
                    "attributes": {
                        "email": "bob@acme.org",
                        "permission": "no-access",
                        "group_permissions": { "group_names": ["Marketing"], "permission": "edit" },
                    },
                },
            ],
        })
    );
    let groups = account
        .get(&format!(
            "/api/access-control/v2/meta-site/{}/permission/user-group",
            id(0x201)
        ))
        .await;
    assert_eq!(
        groups,
        json!({
            "meta": { "total": 1 },
            "data": [{
                "id": id(0x302),
                "type": "meta-site/permission/user-group",
                "attributes": { "name": "Analysts", "permission": "view" },
            }],
        })
    );
}

#[tokio::test]
async fn lists_serve_ten_rows_unless_asked_and_at_most_a_thousand() {
    let account = account(&["no-access-listed"]).await;
    for n in 0..12u128 {
        account.served.sandbox.add_user(User {
            id: id(0x1000 + n),
            email: format!("extra{n:02}@acme.org"),
            role: "USER".into(),
            language: "en-US".into(),
            added_at: "2024-03-01T00:00:00+00:00".into(),
        });
    }
    let path = format!("/api/access-control/v2/app/{}/permission/user", id(0x102));
    let first = account.get(&path).await;
    assert_eq!(first["meta"]["total"], 16);
    assert_eq!(first["data"].as_array().unwrap().len(), 10);
    let rest = account.get(&format!("{path}?offset=10&limit=1000")).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 6);
    let (status, _, body) = account
        .call(Method::GET, &format!("{path}?limit=1001"), "", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Under this reading, users with no grant are listed, as `no-access`.
    let rows = account.user_rows("app", &id(0x102)).await;
    assert!(
        rows.contains(
            &r#"margaret@acme.org: no-access ({"group_names":[],"permission":"no-access"})"#
                .to_string()
        ),
        "{rows:?}"
    );
    assert!(
        rows.contains(
            &r#"carol@acme.org: view ({"group_names":[],"permission":"no-access"})"#.to_string()
        ),
        "{rows:?}"
    );
}

#[tokio::test]
async fn group_permissions_of_a_user_in_no_granting_group_take_each_shape() {
    for (variants, shown) in [
        (
            &[][..],
            r#"carol@acme.org: view ({"group_names":[],"permission":"no-access"})"#,
        ),
        (
            &["group-permissions-null"][..],
            "carol@acme.org: view (null)",
        ),
        (
            &["group-permissions-empty-list"][..],
            "carol@acme.org: view ([])",
        ),
    ] {
        let account = account(variants).await;
        assert_eq!(
            account.user_rows("app", &id(0x102)).await,
            [shown],
            "{variants:?}"
        );
    }
}

#[tokio::test]
async fn a_permission_set_is_checked_stored_and_read_back() {
    let account = account(&[]).await;
    let (app, site, carol) = (id(0x103), id(0x201), id(5));
    assert_eq!(account.user_rows("app", &app).await, Vec::<String>::new());

    let (status, body) = account
        .set("app", &app, "user", &carol, "edit-publish")
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // Setting it again changes nothing.
    assert_eq!(
        account
            .set("app", &app, "user", &carol, "edit-publish")
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        account.user_rows("app", &app).await,
        [r#"carol@acme.org: edit-publish ({"group_names":[],"permission":"no-access"})"#]
    );
    // Revoking is setting `no-access`; there is no DELETE.
    assert_eq!(
        account
            .set("app", &app, "user", &carol, "no-access")
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(account.user_rows("app", &app).await, Vec::<String>::new());

    // Meta sites have no `edit-publish`.
    let (status, body) = account
        .set("meta-site", &site, "user", &carol, "edit-publish")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["detail"],
        "Invalid permission \"edit-publish\", available are: [no-access, view, edit, manage]"
    );
    assert_eq!(
        body["errors"][0]["source"]["pointer"],
        "/data/attributes/permission"
    );

    // Each endpoint takes its own resource type.
    let path = format!("/api/access-control/v2/app/{app}/permission/user/{carol}");
    let wrong = json!({ "data": { "type": "app/permission/user-group", "attributes": { "permission": "view" } } });
    let (status, _, body) = account
        .call(Method::POST, &path, JSON_API, Some(wrong.clone()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["source"]["pointer"], "/data/type");
    let (status, ..) = account
        .call(Method::POST, &path, "application/json", Some(wrong))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A set documents no 404: an unknown user is a bad request, an unknown app one the caller
    // may not manage. Owners hold everything already.
    let (status, _) = account.set("app", &app, "user", &id(0x999), "view").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = account.set("app", &id(0x999), "user", &carol, "view").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = account.set("app", &app, "user", &id(1), "view").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn a_set_for_an_owner_may_answer_204_and_change_nothing() {
    let account = account(&["owner-set-ignored", "no-access-listed"]).await;
    let (status, _) = account.set("app", &id(0x103), "user", &id(1), "view").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let rows = account.user_rows("app", &id(0x103)).await;
    assert!(
        rows.iter().all(|r| !r.starts_with("api@acme.org")),
        "owners are never listed: {rows:?}"
    );
    assert!(
        account
            .served
            .sandbox
            .data()
            .grants
            .iter()
            .all(|g| g.to != id(1))
    );
}

#[tokio::test]
async fn groups_are_created_once_by_name_renamed_in_place_and_deleted_with_their_grants() {
    let account = account(&[]).await;
    // Created as documented, with `application/json`; 201 with the group.
    let (status, body) = account.create_group("application/json", "Support").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["type"], "ppms/user-group");
    assert_eq!(body["data"]["attributes"]["name"], "Support");
    assert_eq!(body["data"]["attributes"]["external_id"], Value::Null);
    let support = body["data"]["id"].as_str().unwrap().to_string();
    // The JSON:API media type is not taken here by default.
    let (status, body) = account.create_group(JSON_API, "Other").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["title"],
        "\"application/vnd.api+json\" is not a supported Content-Type, use \"application/json\" instead"
    );
    // Names are unique, whatever their case.
    let (status, body) = account.create_group("application/json", "marketing").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["source"]["pointer"],
        "/data/attributes/name"
    );

    // A rename keeps the id and what the group grants.
    let marketing = id(0x301);
    let rename = json!({ "data": { "type": "ppms/user-group", "id": marketing, "attributes": { "name": "Growth" } } });
    let (status, _, body) = account
        .call(
            Method::PATCH,
            &format!("/api/user-groups/v1/{marketing}"),
            JSON_API,
            Some(rename),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let rows = account.user_rows("app", &id(0x101)).await;
    assert_eq!(
        rows,
        [
            r#"ada@acme.org: manage ({"group_names":["Growth"],"permission":"edit"})"#,
            r#"bob@acme.org: no-access ({"group_names":["Growth"],"permission":"edit"})"#,
        ]
    );
    let list = account.get("/api/user-groups/v1?sort=name").await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["attributes"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Analysts", "Growth", "Support"]);

    // Deleting a group revokes what it granted.
    let (status, ..) = account
        .call(
            Method::DELETE,
            &format!("/api/user-groups/v1/{marketing}"),
            "",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        account.user_rows("app", &id(0x101)).await,
        [r#"ada@acme.org: manage ({"group_names":[],"permission":"no-access"})"#]
    );
    let (status, ..) = account
        .call(
            Method::GET,
            &format!("/api/user-groups/v1/{marketing}"),
            "",
            None,
        )
        .await;
    // The API documents no 404: a group that is gone is a bad request.
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let kept = account.get(&format!("/api/user-groups/v1/{support}")).await;
    assert_eq!(kept["data"]["attributes"]["name"], "Support");
}

#[tokio::test]
async fn group_readings_of_media_types_and_duplicate_names() {
    let account = account(&["group-json-api-accepted", "duplicate-group-conflict"]).await;
    assert_eq!(
        account.create_group(JSON_API, "Support").await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        account.create_group("application/json", "SUPPORT").await.0,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn members_are_added_and_removed_in_batches() {
    let account = account(&[]).await;
    let analysts = id(0x302);
    let members = format!("/api/user-groups/v1/{analysts}/relationships/users");
    let batch = |ids: &[u128]| json!({ "data": ids.iter().map(|&n| json!({ "type": "ppms/user", "id": id(n) })).collect::<Vec<_>>() });
    let (status, _, body) = account
        .call(Method::POST, &members, JSON_API, Some(batch(&[2, 5, 4])))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let list = account
        .get(&format!("/api/user-groups/v1/{analysts}/users"))
        .await;
    assert_eq!(
        list,
        json!({ "meta": { "total": 3 }, "data": [
            { "id": id(2), "type": "ppms/user", "attributes": { "email": "ada@acme.org" } },
            { "id": id(5), "type": "ppms/user", "attributes": { "email": "carol@acme.org" } },
            { "id": id(4), "type": "ppms/user", "attributes": { "email": "margaret@acme.org" } },
        ]})
    );
    // Removing one that is not a member is accepted under the default reading.
    let (status, ..) = account
        .call(Method::DELETE, &members, JSON_API, Some(batch(&[2, 3])))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let list = account
        .get(&format!("/api/user-groups/v1/{analysts}/users"))
        .await;
    assert_eq!(list["meta"]["total"], 2);
    // An unknown user is refused, and nothing of the batch is applied.
    let (status, ..) = account
        .call(Method::POST, &members, JSON_API, Some(batch(&[2, 0x999])))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        account
            .get(&format!("/api/user-groups/v1/{analysts}/users"))
            .await["meta"]["total"],
        2
    );

    let strict = self::account(&["members-strict"]).await;
    let members = format!("/api/user-groups/v1/{analysts}/relationships/users");
    let (status, ..) = strict
        .call(Method::POST, &members, JSON_API, Some(batch(&[4])))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, ..) = strict
        .call(Method::DELETE, &members, JSON_API, Some(batch(&[2])))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_provisioned_groups_members_belong_to_the_identity_provider() {
    let mut data = Data::seed();
    data.groups[1].external_id = Some("okta-analysts".into());
    data.groups[1].provisioned = true;
    let account = account_with(data, &[]).await;
    let members = format!("/api/user-groups/v1/{}/relationships/users", id(0x302));
    let body = json!({ "data": [{ "type": "ppms/user", "id": id(2) }] });
    let (status, _, body) = account
        .call(Method::POST, &members, JSON_API, Some(body))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Its permissions are still the account's to set.
    let (status, _) = account
        .set("app", &id(0x101), "user-group", &id(0x302), "view")
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let found = account.get("/api/user-groups/v1?search=okta").await;
    assert_eq!(
        found["data"][0]["attributes"]["external_id"],
        "okta-analysts"
    );
}

#[tokio::test]
async fn apps_and_meta_sites_are_listed_by_name_and_id() {
    let account = account(&[]).await;
    let apps = account.get("/api/apps/v2?limit=1000&sort=name").await;
    let shown: Vec<String> = apps["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} {}",
                a["id"].as_str().unwrap(),
                a["attributes"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            format!("{} Acme blog", id(0x102)),
            format!("{} Acme blog", id(0x103)),
            format!("{} Acme shop", id(0x101)),
        ]
    );
    let sites = account.get("/api/meta-sites/v1").await;
    assert_eq!(sites["meta"]["total"], 1);
    assert_eq!(sites["data"][0]["type"], "ppms/meta-site");
    assert_eq!(sites["data"][0]["attributes"]["name"], "All Acme sites");
    // Without a token, nothing.
    let response = account
        .http
        .get(format!("{}/api/apps/v2", account.served.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_deleted_users_grants_and_memberships_go_with_them() {
    let account = account(&[]).await;
    let (status, ..) = account
        .call(
            Method::DELETE,
            &format!("/api/users/v2/{}", id(2)),
            "",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let data = account.served.sandbox.data();
    assert!(data.grants.iter().all(|g| g.to != id(2)));
    assert_eq!(data.groups[0].members, [id(3)]);
    assert_eq!(
        account.user_rows("app", &id(0x101)).await,
        [r#"bob@acme.org: no-access ({"group_names":["Marketing"],"permission":"edit"})"#]
    );
}

#[tokio::test]
async fn a_strict_account_refuses_one_user_twice_in_a_batch() {
    let account = account(&["members-strict"]).await;
    let members = format!("/api/user-groups/v1/{}/relationships/users", id(0x302));
    let twice = json!({ "data": [{ "type": "ppms/user", "id": id(5) }, { "type": "ppms/user", "id": id(5) }] });
    let (status, ..) = account
        .call(Method::POST, &members, JSON_API, Some(twice))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(account.served.sandbox.data().groups[1].members, [id(4)]);
}

#[tokio::test]
async fn an_unknown_meta_site_is_one_top_level_error_as_its_spec_says() {
    let account = account(&[]).await;
    let (status, kind, body) = account
        .call(
            Method::GET,
            &format!("/api/meta-sites/v1/{}", id(0x299)),
            "",
            None,
        )
        .await;
    assert_eq!((status, kind.as_str()), (StatusCode::NOT_FOUND, JSON_API));
    let title = format!("Meta site with id \"{}\" does not exist", id(0x299));
    let object = json!({ "status": "404", "code": "meta-site.error.not-exists", "title": title });
    let mut expected = object.clone();
    expected["errors"] = json!([object]);
    assert_eq!(body, expected);
}
