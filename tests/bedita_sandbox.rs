//! The BEdita 5 sandbox over real HTTP: as strict as BEdita's documented behaviour.

mod common;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use rollcall::providers::bedita::sandbox::{
    Data, MEDIA_TYPE, Options, Role, SEED_API_KEY, SEED_CLIENT_SECRET, SEED_PASSWORD,
    SEED_USERNAME, Sandbox,
};
use rollcall::providers::sandbox::Faults;
use serde_json::{Value, json};

struct Cms {
    served: common::Served<Sandbox>,
    http: reqwest::Client,
}

async fn cms() -> Cms {
    cms_with(Data::seed(), Options::default(), Faults::default()).await
}

async fn cms_with(data: Data, options: Options, faults: Faults) -> Cms {
    let served = common::serve(Sandbox::new(data, options), faults).await;
    Cms {
        served,
        http: common::http_client(),
    }
}

type Answer = (StatusCode, HeaderMap, Value);

async fn send(request: reqwest::RequestBuilder) -> Answer {
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

impl Cms {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.url)
    }

    /// A request as a well-behaved client sends it: the API key and the JSON:API media type.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("X-Api-Key", SEED_API_KEY)
            .header("Accept", MEDIA_TYPE)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", MEDIA_TYPE)
                .body(body.to_string());
        }
        send(request).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None, None).await
    }

    /// Logs in with a password; returns the access and renew tokens.
    async fn login_as(&self, username: &str, password: &str) -> Answer {
        send(
            self.request(Method::POST, "/auth")
                .header("Content-Type", "application/json")
                .body(
                    json!({ "grant_type": "password", "username": username, "password": password })
                        .to_string(),
                ),
        )
        .await
    }

    async fn admin(&self) -> String {
        let (status, _, body) = self.login_as(SEED_USERNAME, SEED_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["meta"]["jwt"].as_str().unwrap().to_string()
    }

    /// Creates a user and returns its id.
    async fn create(&self, token: &str, attributes: Value) -> String {
        let (status, _, body) = self
            .call(
                Method::POST,
                "/users",
                Some(token),
                Some(json!({ "data": { "type": "users", "attributes": attributes } })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["data"]["id"].as_str().unwrap().to_string()
    }
}

fn title(body: &Value) -> &str {
    body["error"]["title"].as_str().unwrap_or_default()
}

fn detail(body: &Value) -> &str {
    body["error"]["detail"].as_str().unwrap_or_default()
}

fn usernames(body: &Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["attributes"]["username"].as_str().unwrap())
        .collect()
}

fn grant(role: &str) -> Value {
    json!({ "data": { "type": "roles", "id": role } })
}

#[tokio::test]
async fn the_api_key_is_required_and_every_answer_names_the_version() {
    let s = cms().await;
    let (status, headers, body) =
        send(s.http.get(s.url("/users")).header("Accept", MEDIA_TYPE)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["x-bedita-version"], "5.30.2");
    assert_eq!(body["error"]["status"], "403", "the status is a string");
    assert_eq!(title(&body), "Missing API key");
    assert!(body["links"]["self"].as_str().unwrap().ends_with("/users"));
    assert!(body.get("errors").is_none(), "one error object, not a list");

    let (status, _, body) = send(
        s.http
            .get(s.url("/users"))
            .header("Accept", MEDIA_TYPE)
            .header("X-Api-Key", "wrong"),
    )
    .await;
    assert_eq!(
        (status, title(&body)),
        (StatusCode::FORBIDDEN, "Invalid API key")
    );

    let (status, headers, _) = send(
        s.http
            .get(s.url(&format!("/users?api_key={SEED_API_KEY}")))
            .header("Accept", MEDIA_TYPE),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the key may come as a query parameter"
    );
    assert_eq!(headers["content-type"], MEDIA_TYPE);
    assert_eq!(headers["x-bedita-version"], "5.30.2");
}

#[tokio::test]
async fn accept_must_be_exactly_one_of_the_two_json_types() {
    let s = cms().await;
    let get = |accept: Option<&'static str>| {
        let mut request = s
            .http
            .get(s.url("/users"))
            .header("X-Api-Key", SEED_API_KEY);
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        send(request)
    };
    let (status, _, body) = get(None).await;
    assert_eq!(
        (status, title(&body)),
        (StatusCode::NOT_ACCEPTABLE, "Not Acceptable")
    );
    assert_eq!(get(Some("text/html")).await.0, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        get(Some("application/vnd.api+json; charset=utf-8")).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        get(Some("application/json, application/vnd.api+json"))
            .await
            .0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let (status, headers, plain) = get(Some("application/json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let (_, _, api) = get(Some(MEDIA_TYPE)).await;
    assert_eq!(plain["data"], api["data"], "the same body either way");
}

#[tokio::test]
async fn writes_need_an_exact_content_type_and_a_readable_body() {
    let s = cms().await;
    let token = s.admin().await;
    let body = json!({ "data": { "type": "users", "attributes": { "username": "giulia.rossi" } } })
        .to_string();
    let post = |content_type: Option<&'static str>, body: String| {
        let mut request = s
            .request(Method::POST, "/users")
            .bearer_auth(&token)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        send(request)
    };
    assert_eq!(
        post(None, body.clone()).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        post(Some("text/plain"), body.clone()).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let (status, _, answer) = post(
        Some("application/vnd.api+json; charset=utf-8"),
        body.clone(),
    )
    .await;
    assert_eq!(
        (status, title(&answer)),
        (StatusCode::BAD_REQUEST, "Invalid data")
    );
    let (status, _, _) = post(Some(MEDIA_TYPE), "{\"data\": {".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "malformed JSON");
    let (status, _, _) = post(Some(MEDIA_TYPE), "[1, 2]".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no data member");
    let (status, _, _) = post(Some("application/json"), body).await;
    assert_eq!(status, StatusCode::CREATED, "plain JSON is accepted too");
}

#[tokio::test]
async fn login_by_password_form_and_client_credentials() {
    let s = cms().await;
    let (status, headers, body) = s.login_as(SEED_USERNAME, SEED_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["content-type"], MEDIA_TYPE);
    assert!(body["meta"]["jwt"].is_string() && body["meta"]["renew"].is_string());
    assert!(body["links"]["self"].as_str().unwrap().ends_with("/auth"));
    let jwt = body["meta"]["jwt"].as_str().unwrap();
    let (status, _, me) = s.call(Method::GET, "/auth/user", Some(jwt), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["data"]["id"], "1");
    assert_eq!(me["included"][0]["attributes"]["name"], "admin");

    for (username, password) in [(SEED_USERNAME, "wrong"), ("nobody", SEED_PASSWORD)] {
        let (status, _, body) = s.login_as(username, password).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(title(&body), "Login request not successful");
    }
    // BEdita 5 requires grant_type.
    let (status, _, _) = send(
        s.request(Method::POST, "/auth")
            .header("Content-Type", "application/json")
            .body(json!({ "username": SEED_USERNAME, "password": SEED_PASSWORD }).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _, _) = send(
        s.request(Method::POST, "/auth")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=password&username={SEED_USERNAME}&password={SEED_PASSWORD}"
            )),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a form-encoded login");

    // The application's own token reads without a key but cannot write: it has no user.
    let (status, _, body) = send(
        s.http
            .post(s.url("/auth"))
            .header("Accept", MEDIA_TYPE)
            .header("Content-Type", "application/json")
            .body(
                json!({ "grant_type": "client_credentials", "client_id": SEED_API_KEY, "client_secret": SEED_CLIENT_SECRET })
                    .to_string(),
            ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app = body["meta"]["jwt"].as_str().unwrap();
    let (status, _, _) = send(
        s.http
            .get(s.url("/users"))
            .header("Accept", MEDIA_TYPE)
            .bearer_auth(app),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = s
        .call(
            Method::POST,
            "/users",
            Some(app),
            Some(json!({ "data": { "type": "users", "attributes": { "username": "x" } } })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reads_are_anonymous_but_writes_need_a_user_with_the_admin_role() {
    let s = cms().await;
    let body = json!({ "data": { "type": "users", "attributes": { "username": "giulia.rossi" } } });
    let (status, _, answer) = s
        .call(Method::POST, "/users", None, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(title(&answer), "Authentication is required to continue");

    let (status, _, answer) = s.call(Method::GET, "/users", Some("made-up"), None).await;
    assert_eq!(
        (status, title(&answer)),
        (StatusCode::UNAUTHORIZED, "Request not authorized")
    );

    // An editor who can log in is still refused.
    let admin = s.admin().await;
    let id = s
        .create(
            &admin,
            json!({ "username": "sara.conti", "password": "editor-pass-1", "status": "on" }),
        )
        .await;
    s.call(
        Method::POST,
        &format!("/users/{id}/relationships/roles"),
        Some(&admin),
        Some(grant("2")),
    )
    .await;
    let (_, _, login) = s.login_as("sara.conti", "editor-pass-1").await;
    let editor = login["meta"]["jwt"].as_str().unwrap();
    let (status, _, answer) = s
        .call(Method::POST, "/users", Some(editor), Some(body))
        .await;
    assert_eq!(
        (status, title(&answer)),
        (StatusCode::FORBIDDEN, "Unauthorized")
    );
}

#[tokio::test]
async fn an_expired_token_says_so_and_the_renew_token_replaces_it() {
    let s = cms().await;
    let (_, _, login) = s.login_as(SEED_USERNAME, SEED_PASSWORD).await;
    let jwt = login["meta"]["jwt"].as_str().unwrap();
    let renew = login["meta"]["renew"].as_str().unwrap();
    s.served.sandbox.expire_tokens();
    let (status, _, body) = s.call(Method::GET, "/users", Some(jwt), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"],
        json!({ "status": "401", "title": "Expired token", "code": "be_token_expired" })
    );

    let refresh = |bearer: &str| {
        send(
            s.request(Method::POST, "/auth")
                .bearer_auth(bearer)
                .header("Content-Type", "application/json")
                .body(json!({ "grant_type": "refresh_token" }).to_string()),
        )
    };
    let (status, _, body) = refresh(jwt).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an access token does not renew"
    );
    let (status, _, body2) = refresh(renew).await;
    assert_eq!(status, StatusCode::OK, "{body} {body2}");
    let fresh = body2["meta"]["jwt"].as_str().unwrap();
    let (status, _, _) = s.call(Method::GET, "/users", Some(fresh), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn create_answers_201_with_location_and_a_draft_user() {
    let s = cms().await;
    let token = s.admin().await;
    let (status, headers, body) = s
        .call(
            Method::POST,
            "/users",
            Some(&token),
            Some(json!({ "data": { "type": "users", "attributes": {
                "username": "giulia.rossi",
                "email": "giulia.rossi@magazine.example.com",
                "name": "Giulia",
                "surname": "Rossi",
                "lang": "it",
                "password": "s3cret-pass",
            } } })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user = &body["data"];
    let id = user["id"].as_str().expect("the id is a string");
    assert_eq!(headers["location"], s.url(&format!("/users/{id}")));
    assert_eq!(user["type"], "users");
    assert_eq!(user["attributes"]["status"], "draft", "BEdita's default");
    assert_eq!(user["attributes"]["uname"], "giulia-rossi");
    assert_eq!(user["attributes"]["title"], "Giulia Rossi");
    assert!(!body.to_string().contains("s3cret-pass"), "{body}");
    assert!(
        user["meta"]["created"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );

    let stored = s.served.sandbox.data();
    let giulia = stored
        .users
        .iter()
        .find(|u| u.username == "giulia.rossi")
        .unwrap();
    assert_eq!(giulia.password_hash.as_ref().map(String::len), Some(64));

    let (status, _, by_uname) = s.get("/users/giulia-rossi").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_uname["data"]["id"], id);

    // A draft user cannot log in until switched on.
    assert_eq!(
        s.login_as("giulia.rossi", "s3cret-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn create_checks_type_id_and_every_attribute() {
    let s = cms().await;
    let token = s.admin().await;
    let post = |data: Value| {
        s.call(
            Method::POST,
            "/users",
            Some(&token),
            Some(json!({ "data": data })),
        )
    };

    // Usernames and emails stay taken while their user is in the trash.
    let (status, _, body) =
        post(json!({ "type": "users", "attributes": { "username": "roberto.esposito" } })).await;
    assert_eq!(
        (status, title(&body)),
        (StatusCode::BAD_REQUEST, "Invalid data")
    );
    assert_eq!(
        detail(&body),
        "[username.unique]: The provided value is invalid"
    );
    let (_, _, body) = post(json!({ "type": "users", "attributes": {
        "username": "luca2", "email": "LUCA.FERRARI@magazine.example.com" } }))
    .await;
    assert_eq!(
        detail(&body),
        "[email.unique]: The provided value is invalid"
    );

    let (_, _, body) = post(json!({ "type": "users", "attributes": {
        "email": "not-an-email", "status": "active", "title": "Dr" } }))
    .await;
    let detail = detail(&body);
    for rule in [
        "[username._required]",
        "[email.email]",
        "[status.inList]",
        "[title.unknown]",
    ] {
        assert!(detail.contains(rule), "{detail}");
    }
    for username in ["__deleted-12", "a/b"] {
        let (status, _, _) =
            post(json!({ "type": "users", "attributes": { "username": username } })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{username}");
    }

    let (status, _, body) =
        post(json!({ "type": "roles", "attributes": { "username": "x" } })).await;
    assert_eq!(
        (status, title(&body)),
        (StatusCode::CONFLICT, "Unsupported resource type")
    );
    let (status, _, _) = post(json!({ "attributes": { "username": "x" } })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, _) =
        post(json!({ "type": "users", "id": "99", "attributes": { "username": "x" } })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "client-generated ids");
    let (status, _, _) = post(json!({ "type": "users", "attributes": { "username": "x" },
        "relationships": { "roles": { "data": [] } } }))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        s.served.sandbox.data().users.len(),
        Data::seed().users.len()
    );
}

#[tokio::test]
async fn patch_needs_the_id_as_a_string() {
    let s = cms().await;
    let token = s.admin().await;
    let patch = |id: Value, attributes: Value| {
        s.call(
            Method::PATCH,
            "/users/4",
            Some(&token),
            Some(json!({ "data": { "id": id, "type": "users", "attributes": attributes } })),
        )
    };
    let (status, _, body) = patch(json!(4), json!({ "status": "off" })).await;
    assert_eq!(
        (status, title(&body)),
        (StatusCode::CONFLICT, "IDs don't match")
    );
    assert_eq!(patch(json!("5"), json!({})).await.0, StatusCode::CONFLICT);

    let (status, _, body) = patch(
        json!("4"),
        json!({ "status": "off", "lang": "en", "password": "new-pass" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["attributes"]["status"], "off");
    assert_eq!(body["data"]["attributes"]["lang"], "en");
    assert_eq!(
        body["data"]["attributes"]["username"], "luca.ferrari",
        "untouched"
    );

    let (_, _, body) = patch(json!("4"), json!({ "username": "ELENA.GRECO" })).await;
    assert_eq!(
        detail(&body),
        "[username.unique]: The provided value is invalid"
    );

    let (status, headers, _) = s
        .call(
            Method::PUT,
            "/users/4",
            Some(&token),
            Some(json!({ "data": {} })),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET, PATCH, DELETE");
    let (status, _, _) = s
        .call(
            Method::PATCH,
            "/users/8",
            Some(&token),
            Some(json!({ "data": { "id": "8", "type": "users", "attributes": {} } })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a user in the trash");
}

#[tokio::test]
async fn delete_moves_to_the_trash_and_patching_the_trash_restores() {
    let s = cms().await;
    let token = s.admin().await;
    let (status, _, _) = s.call(Method::DELETE, "/users/6", Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/users/6").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        s.call(Method::DELETE, "/users/6", Some(&token), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let (status, _, trash) = s.get("/trash?filter[type]=users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(usernames(&trash), ["anna.marino", "roberto.esposito"]);
    assert_eq!(trash["data"][0]["type"], "users");
    assert_eq!(
        trash["data"][0]["attributes"]["email"],
        "anna.marino@magazine.example.com"
    );
    assert_eq!(trash["data"][0]["attributes"]["status"], "on");
    assert_eq!(s.get("/trash/6").await.0, StatusCode::OK);
    assert_eq!(
        s.get("/trash/4").await.0,
        StatusCode::NOT_FOUND,
        "not deleted"
    );

    let restore = |id: &str| {
        s.call(
            Method::PATCH,
            "/trash/6",
            Some(&token),
            Some(json!({ "data": { "id": id, "type": "users" } })),
        )
    };
    assert_eq!(restore("7").await.0, StatusCode::CONFLICT);
    let (status, _, _) = restore("6").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/users/6").await.0, StatusCode::OK);
    assert_eq!(
        restore("6").await.0,
        StatusCode::NOT_FOUND,
        "no longer in the trash"
    );

    // Deleting for good frees the username.
    let (status, _, _) = s.call(Method::DELETE, "/trash/8", Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/trash/8").await.0, StatusCode::NOT_FOUND);
    s.create(&token, json!({ "username": "roberto.esposito" }))
        .await;
}

#[tokio::test]
async fn the_administrator_and_the_caller_cannot_be_deleted() {
    let s = cms().await;
    let token = s.admin().await;
    let (status, _, body) = s.call(Method::DELETE, "/users/1", Some(&token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let id = s
        .create(
            &token,
            json!({ "username": "marco.bianchi", "password": "admin-pass-2", "status": "on" }),
        )
        .await;
    let (status, _, _) = s
        .call(
            Method::POST,
            &format!("/users/{id}/relationships/roles"),
            Some(&token),
            Some(grant("1")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, login) = s.login_as("marco.bianchi", "admin-pass-2").await;
    let marco = login["meta"]["jwt"].as_str().unwrap();
    let (status, _, body) = s
        .call(Method::DELETE, &format!("/users/{id}"), Some(marco), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(title(&body), "Logged users cannot delete their own account");

    // A deleted user cannot log in, nor renew.
    let renew = login["meta"]["renew"].as_str().unwrap().to_string();
    let (status, _, _) = s
        .call(Method::DELETE, &format!("/users/{id}"), Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.login_as("marco.bianchi", "admin-pass-2").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _, body) = send(
        s.request(Method::POST, "/auth")
            .bearer_auth(renew)
            .header("Content-Type", "application/json")
            .body(json!({ "grant_type": "refresh_token" }).to_string()),
    )
    .await;
    assert_eq!(
        (status, title(&body)),
        (StatusCode::UNAUTHORIZED, "Login request not successful")
    );
}

#[tokio::test]
async fn lists_are_paged_filtered_and_leave_out_the_trash() {
    let s = cms().await;
    let (status, _, all) = s.get("/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        usernames(&all),
        [
            "bedita",
            "luca.ferrari",
            "elena.greco",
            "anna.marino",
            "matteo.lombardi"
        ]
    );
    assert_eq!(
        all["meta"]["pagination"],
        json!({ "count": 5, "page": 1, "page_count": 1, "page_items": 5, "page_size": 20 })
    );
    assert!(all["meta"]["schema"]["users"]["$id"].is_string());
    assert_eq!(all["links"]["next"], Value::Null);

    let (_, _, big) = s.get("/users?page_size=500").await;
    assert_eq!(big["meta"]["pagination"]["page_size"], 100, "capped");
    let (_, _, hundred) = s.get("/users?page_size=100").await;
    assert_eq!(hundred["meta"]["pagination"]["page_count"], 1);

    let (_, _, second) = s.get("/users?page_size=2&page=2").await;
    assert_eq!(usernames(&second), ["elena.greco", "anna.marino"]);
    assert_eq!(second["meta"]["pagination"]["page_count"], 3);
    assert!(second["links"]["next"].as_str().unwrap().contains("page=3"));
    assert!(second["links"]["prev"].as_str().unwrap().contains("page=1"));
    assert_eq!(
        s.get("/users?page_size=2&page=4").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(s.get("/users?page_size=0").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/users?page=x").await.0, StatusCode::BAD_REQUEST);

    let (status, _, body) = s.get("/users?filter%5Bcolour%5D=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(detail(&body), "filter \"colour\" was not found");
    let (_, _, found) = s
        .get("/users?filter[email]=ELENA.GRECO@magazine.example.com")
        .await;
    assert_eq!(usernames(&found), ["elena.greco"]);
    let (_, _, found) = s.get("/users?filter[roles]=reviewer,1").await;
    assert_eq!(usernames(&found), ["bedita", "anna.marino"]);
    let (_, _, found) = s.get("/users?filter[status]=off").await;
    assert_eq!(usernames(&found), ["matteo.lombardi"]);
    let (_, _, found) = s.get("/users?filter[username]=roberto.esposito").await;
    assert_eq!(found["meta"]["pagination"]["count"], 0);
    assert_eq!(
        found["meta"]["pagination"]["page_count"], 1,
        "an empty list is one page"
    );
    let (_, _, found) = s.get("/users?q=greco").await;
    assert_eq!(usernames(&found), ["elena.greco"]);
}

#[tokio::test]
async fn include_roles_adds_identifiers_and_included_resources() {
    let s = cms().await;
    let (status, _, body) = s.get("/users?include=roles").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"][1]["relationships"]["roles"]["data"],
        json!([{ "id": "2", "type": "roles" }])
    );
    let included: Vec<&str> = body["included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["attributes"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(included, ["admin", "editor", "reviewer"], "each role once");

    let (_, _, single) = s.get("/users/6?include=roles").await;
    assert_eq!(single["included"][0]["attributes"]["name"], "reviewer");
    let (_, _, plain) = s.get("/users/6").await;
    assert!(plain.get("included").is_none());
    assert!(plain["data"]["relationships"]["roles"]["links"]["self"].is_string());
    assert_eq!(
        s.get("/users?include=parents").await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn role_relationships_answer_200_on_a_change_and_204_otherwise() {
    let s = cms().await;
    let token = s.admin().await;
    let links = "/users/4/relationships/roles";
    let call = |method: Method, body: Value| s.call(method, links, Some(&token), Some(body));

    let (status, _, body) = call(Method::POST, grant("3")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["links"]["self"].as_str().unwrap().ends_with(links));
    assert_eq!(
        call(Method::POST, grant("3")).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, _, identifiers) = s.get(links).await;
    assert_eq!(
        identifiers["data"],
        json!([{ "id": "2", "type": "roles" }, { "id": "3", "type": "roles" }])
    );
    let (_, _, roles) = s.get("/users/4/roles").await;
    assert_eq!(roles["data"][1]["attributes"]["name"], "reviewer");
    assert_eq!(roles["data"][1]["meta"]["priority"], 100);

    // Numeric ids work too; names do not.
    let (status, _, _) = call(
        Method::DELETE,
        json!({ "data": [{ "type": "roles", "id": 3 }] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        call(Method::DELETE, grant("3")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(Method::POST, grant("reviewer")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(Method::POST, grant("999")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = call(
        Method::POST,
        json!({ "data": { "type": "users", "id": "3" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, _, _) = call(
        Method::PATCH,
        json!({ "data": [{ "type": "roles", "id": "3" }, { "type": "roles", "id": "1" }] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let user = s
        .served
        .sandbox
        .data()
        .users
        .into_iter()
        .find(|u| u.id == 4)
        .unwrap();
    assert_eq!(user.roles, [1, 3], "replaced");

    let (status, _, _) = s
        .call(
            Method::DELETE,
            "/users/1/relationships/roles",
            Some(&token),
            Some(grant("1")),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the administrator keeps the admin role"
    );
}

#[tokio::test]
async fn roles_are_created_renamed_and_deleted_with_their_grants() {
    let s = cms().await;
    let token = s.admin().await;
    let create = |name: &str| {
        s.call(
            Method::POST,
            "/roles",
            Some(&token),
            Some(json!({ "data": { "type": "roles", "attributes": { "name": name, "description": "Images and galleries." } } })),
        )
    };
    let (status, headers, body) = create("photo-desk").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(headers["location"], s.url(&format!("/roles/{id}")));
    assert_eq!(body["data"]["meta"]["priority"], 100);
    assert_eq!(body["data"]["meta"]["unchangeable"], false);
    let (_, _, body) = create("Photo-Desk").await;
    assert_eq!(
        detail(&body),
        "[name.unique]: The provided value is invalid"
    );

    let (status, _, by_name) = s.get("/roles/photo-desk").await;
    assert_eq!(
        (status, by_name["data"]["id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );
    let (_, _, listed) = s.get("/roles?filter[name]=photo-desk").await;
    assert_eq!(listed["meta"]["pagination"]["count"], 1);

    s.call(
        Method::POST,
        "/users/4/relationships/roles",
        Some(&token),
        Some(grant(&id)),
    )
    .await;
    let (status, _, _) = s
        .call(Method::DELETE, &format!("/roles/{id}"), Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let user = s
        .served
        .sandbox
        .data()
        .users
        .into_iter()
        .find(|u| u.id == 4)
        .unwrap();
    assert_eq!(user.roles, [2], "the grant went with the role");

    let (status, _, _) = s.call(Method::DELETE, "/roles/1", Some(&token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admin is unchangeable");
    let rename = |name: &str| {
        s.call(
            Method::PATCH,
            "/roles/1",
            Some(&token),
            Some(json!({ "data": { "id": "1", "type": "roles", "attributes": { "name": name, "description": "Everything." } } })),
        )
    };
    assert_eq!(rename("root").await.0, StatusCode::FORBIDDEN);
    let (status, _, body) = rename("admin").await;
    assert_eq!(status, StatusCode::OK, "the description may change");
    assert_eq!(body["data"]["attributes"]["description"], "Everything.");
}

#[tokio::test]
async fn roles_above_the_callers_priority_cannot_be_granted() {
    let mut data = Data::seed();
    data.roles[0].priority = 50;
    data.roles.push(Role {
        id: 20,
        name: "owner".into(),
        description: None,
        unchangeable: false,
        priority: 10,
        created: 0,
    });
    let s = cms_with(data, Options::default(), Faults::default()).await;
    let token = s.admin().await;
    let (status, _, body) = s
        .call(
            Method::POST,
            "/users/4/relationships/roles",
            Some(&token),
            Some(grant("20")),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(title(&body), "Could not update role. Insufficient priority");
}

#[tokio::test]
async fn unknown_paths_wrong_methods_and_faults_use_the_error_format() {
    let s = cms_with(
        Data::seed(),
        Options::default(),
        Faults {
            error_share: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let (status, headers, body) = s.get("/users").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["status"], "503");
    assert_eq!(headers["x-bedita-version"], "5.30.2");

    let s = cms().await;
    let (status, _, body) = s.get("/documents").await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (StatusCode::NOT_FOUND, Some("404"))
    );
    let (status, headers, _) = s.call(Method::DELETE, "/trash", None, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET");
}

#[tokio::test]
async fn the_state_file_keeps_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bedita.json");
    let options = Options {
        state_file: Some(path.clone()),
        ..Options::default()
    };
    let s = cms_with(Data::seed(), options, Faults::default()).await;
    let token = s.admin().await;
    let id = s
        .create(
            &token,
            json!({ "username": "sara.conti", "password": "editor-pass-1" }),
        )
        .await;
    s.call(
        Method::POST,
        &format!("/users/{id}/relationships/roles"),
        Some(&token),
        Some(grant("2")),
    )
    .await;
    let saved = Data::read(&path).unwrap();
    assert_eq!(saved, s.served.sandbox.data());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("editor-pass-1"), "only the hash is stored");

    // A new sandbox started from the file carries on where the last one stopped.
    let again = cms_with(saved, Options::default(), Faults::default()).await;
    let (status, _, body) = again.get(&format!("/users/{id}?include=roles")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["included"][0]["attributes"]["name"], "editor");
    let next = again
        .create(&again.admin().await, json!({ "username": "new.one" }))
        .await;
    assert!(next.parse::<u64>().unwrap() > id.parse::<u64>().unwrap());
}
