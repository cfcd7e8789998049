//! Hostile servers: redirects that would carry credentials elsewhere, bodies without end, answers
//! that drip or never come, rate limits that never lift, lists that never end. Each ends in a
//! clear error within its bound, and no credential ever reaches another origin.

mod common;
#[path = "support/hostile_server.rs"]
mod hostile_server;

use std::time::{Duration, Instant};

use common::{BEDITA_HEAD, PIWIK_HEAD, PUBLICA_HEAD, Workspace};
use hostile_server::{Hostile, Reply, Request};
use reqwest::Method;
use rollcall::apply::{self, Outcome};
use rollcall::journal::Journal;
use rollcall::model::{DesiredState, LiveState};
use rollcall::plan::{Plan, PlanOptions};
use rollcall::providers::http::{Http, Kind, RetryPolicy, TransportError, Waits};
use rollcall::session::Session;

const REDIRECTS: [u16; 5] = [301, 302, 303, 307, 308];
/// Every secret the test environment hands out.
const SECRETS: [&str; 4] = [
    "client-id",
    "piwik-top-secret-value",
    "publica-token",
    "bedita",
];

/// Loads `head` (one of the test heads) with its `url` pointed at `url`, plus `users`.
fn desired(ws: &Workspace, head: &str, url: &str, users: &str) -> DesiredState {
    let head = head
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("url:") {
                format!("  url: {url}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = ws.write("team.yaml", format!("{head}\n{users}"));
    match common::load(&[path]).result {
        Ok(state) => state,
        Err(d) => panic!("invalid test file: {d:?}"),
    }
}

/// Connects to `url` with `head` and no users, and returns why reading the users failed.
async fn fetch_error(ws: &Workspace, head: &str, url: &str) -> String {
    let session = Session::connect(desired(ws, head, url, ""), None)
        .await
        .expect("connected");
    format!("{:#}", session.fetch().await.expect_err("refused"))
}

/// Connects to `url` with `head` and `users`, and plans; the workspace holds the file.
async fn planned(
    head: &str,
    url: &str,
    users: &str,
    journal: Option<Journal>,
) -> (Workspace, Session, LiveState, Plan) {
    let ws = Workspace::new();
    let state = desired(&ws, head, url, users);
    let session = Session::connect(state, journal).await.expect("connected");
    let (live, plan) = session
        .plan(&PlanOptions::default())
        .await
        .expect("planned");
    (ws, session, live, plan)
}

/// The Piwik PRO user the credentials belong to, an owner.
const PIWIK_ME: &str =
    r#"{"id":"1","type":"ppms/user","attributes":{"email":"me@acme.org","role":"owner"}}"#;

fn piwik_token() -> Reply {
    Reply::json(
        200,
        r#"{"token_type":"Bearer","expires_in":1800,"access_token":"tok"}"#,
    )
}

fn bedita_token() -> Reply {
    Reply::json(200, r#"{"meta":{"jwt":"tok","renew":"ren"}}"#)
}

/// Asserts that `recorder` received nothing at all, and so no credential.
fn untouched(recorder: &Hostile, case: &str) {
    let got = recorder.requests();
    for request in &got {
        let raw = String::from_utf8_lossy(&request.raw);
        for secret in SECRETS {
            assert!(
                !raw.contains(secret),
                "{case}: a credential reached the other origin:\n{raw}"
            );
        }
    }
    assert!(got.is_empty(), "{case}: the redirect was followed");
}

/// A path the hostile server answers properly, so that the redirect comes after signing in.
type SignIn = Option<(&'static str, fn() -> Reply)>;

#[tokio::test]
async fn no_provider_follows_a_redirect_with_its_credentials() {
    let recorder = Hostile::recorder().await;
    let elsewhere = format!("{}/collect", recorder.url);
    let cases: [(&str, &str, SignIn); 5] = [
        ("piwik-pro, signing in", PIWIK_HEAD, None),
        (
            "piwik-pro, reading users",
            PIWIK_HEAD,
            Some(("/auth/token", piwik_token)),
        ),
        ("publica-la, reading users", PUBLICA_HEAD, None),
        ("bedita, signing in", BEDITA_HEAD, None),
        (
            "bedita, reading users",
            BEDITA_HEAD,
            Some(("/auth", bedita_token)),
        ),
    ];
    for (case, head, sign_in) in cases {
        for status in REDIRECTS {
            let to = elsewhere.clone();
            let hostile = Hostile::start(move |r: &Request| match sign_in {
                Some((path, answer)) if r.path() == path => answer(),
                _ => Reply::redirect(status, &to),
            })
            .await;
            let err = fetch_error(&Workspace::new(), head, &hostile.url).await;
            let case = format!("{case}, HTTP {status}");
            assert!(
                err.contains(&format!(
                    "the service answered {status} to {}; rollcall never follows redirects with credentials. Point `url` at the final address",
                    recorder.url
                )),
                "{case}: {err}"
            );
            untouched(&recorder, &case);
        }
    }
}

#[tokio::test]
async fn a_redirected_write_is_a_failure_and_goes_nowhere() {
    let recorder = Hostile::recorder().await;
    let to = format!("{}/api/users/v2", recorder.url);
    let hostile = Hostile::start(move |r: &Request| match (r.method.as_str(), r.path()) {
        ("POST", "/auth/token") => piwik_token(),
        ("GET", "/api/users/v2/me") => Reply::json(200, format!(r#"{{"data":{PIWIK_ME}}}"#)),
        ("GET", "/api/users/v2") => Reply::json(
            200,
            format!(r#"{{"meta":{{"total":1}},"data":[{PIWIK_ME}]}}"#),
        ),
        _ => Reply::redirect(307, &to),
    })
    .await;
    let users = "users:\n  - email: ada@acme.org\n    language: en-US\n";
    let (_ws, session, live, plan) = planned(PIWIK_HEAD, &hostile.url, users, None).await;
    assert_eq!(plan.actions.len(), 1, "{plan:?}");
    let report = apply::run(session.account.clone(), &plan, &live, 1, None, |_, _| {}).await;
    match &report.outcomes[0].1 {
        Outcome::Failed(err) => assert!(err.to_string().contains("answered 307"), "{err}"),
        other => panic!("the invite was not refused: {other:?}"),
    }
    untouched(&recorder, "a redirected invite");
}

#[test]
fn urls_that_hide_a_remote_host_never_get_a_client() {
    for url in [
        "http://127.0.0.1.example.com",
        "http://example.com\\@127.0.0.1",
        "http://example.com#@127.0.0.1",
        "http://user:pass@127.0.0.1",
        "http://localhost.example.com",
        "ftp://127.0.0.1",
        "https://acme.piwik.pro?token=x",
    ] {
        let err = Http::new(url, RetryPolicy::default(), None)
            .err()
            .unwrap_or_else(|| panic!("{url} was accepted"));
        assert!(
            err.to_string().starts_with("the target URL "),
            "{url}: {err}"
        );
    }
    for url in [
        "http://127.0.0.1:8080",
        "http://127.3.4.5",
        "http://localhost:1",
        "http://[::1]:80",
        "https://acme.piwik.pro",
    ] {
        assert!(
            Http::new(url, RetryPolicy::default(), None).is_ok(),
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_request_for_another_origin_is_never_sent() {
    let recorder = Hostile::recorder().await;
    let target = Hostile::recorder().await;
    let http = Http::new(&target.url, RetryPolicy::default(), None).expect("a client");
    let elsewhere = format!("{}/steal", recorder.url);
    let err = http
        .send(Method::GET, "/steal", Kind::Read, |client, _| {
            client.get(&elsewhere).header("X-Api-Key", "bedita")
        })
        .await
        .expect_err("refused");
    assert!(matches!(err, TransportError::OffTarget { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "refusing to send a request to {}: the target is {}, and credentials go nowhere else",
            recorder.url, target.url
        )
    );
    untouched(&recorder, "a request built for another origin");
    assert!(target.requests().is_empty());
}

/// A policy with bounds small enough for a test.
fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(10),
        rate_limit_waits: 20,
        max_wait: Duration::from_secs(60),
        attempt_timeout: Duration::from_millis(600),
        stall_timeout: Duration::from_millis(300),
        request_deadline: Duration::from_secs(2),
        run_wait_budget: Duration::from_secs(30),
        notice_after: Duration::from_millis(200),
    }
}

async fn get(http: &Http, url: &str, kind: Kind) -> Result<usize, TransportError> {
    let url = format!("{url}/api/users/v2");
    http.send(Method::GET, "/api/users/v2", kind, |client, _| {
        client.get(&url)
    })
    .await
    .map(|answer| answer.body.len())
}

#[tokio::test]
async fn an_endless_body_is_cut_off_at_the_limit() {
    let hostile = Hostile::start(|_| Reply::Endless {
        prefix: b"{\"data\":[".to_vec(),
        bytes: 2 << 30,
    })
    .await;
    let http = Http::new(&hostile.url, quick(), None).expect("a client");
    let err = get(&http, &hostile.url, Kind::Auth)
        .await
        .expect_err("cut off");
    assert_eq!(
        err.to_string(),
        "GET /api/users/v2: the answer is larger than 64 KiB, more than rollcall reads for this request"
    );
    let http = Http::new(&hostile.url, RetryPolicy::default(), None).expect("a client");
    let err = get(&http, &hostile.url, Kind::Read)
        .await
        .expect_err("cut off");
    assert_eq!(
        err.to_string(),
        "GET /api/users/v2: the answer is larger than 32768 KiB, more than rollcall reads for this request"
    );
    // A body that says up front it is too large is not read at all.
    let hostile = Hostile::start(|_| Reply::Full {
        status: 200,
        headers: vec![],
        body: vec![b' '; 70 << 10],
    })
    .await;
    let http = Http::new(&hostile.url, quick(), None).expect("a client");
    assert!(matches!(
        get(&http, &hostile.url, Kind::Auth).await,
        Err(TransportError::TooLarge { .. })
    ));
}

#[tokio::test]
async fn a_drip_or_silence_ends_at_the_request_deadline() {
    for (case, reply) in [
        (
            "drip",
            (|_: &Request| Reply::Drip {
                every: Duration::from_millis(100),
                bytes: 1000,
            }) as fn(&Request) -> Reply,
        ),
        ("silence", |_: &Request| Reply::Silent),
    ] {
        let hostile = Hostile::start(reply).await;
        let http = Http::new(&hostile.url, quick(), None).expect("a client");
        let started = Instant::now();
        let err = get(&http, &hostile.url, Kind::Read)
            .await
            .expect_err("given up");
        let took = started.elapsed();
        assert!(
            err.to_string()
                .starts_with("GET /api/users/v2: no answer (timed out"),
            "{case}: {err}"
        );
        assert!(
            took < Duration::from_secs(4),
            "{case}: gave up after {took:?}"
        );
        assert!(hostile.requests().len() <= 3, "{case}: too many attempts");
    }
}

#[tokio::test]
async fn a_rate_limit_that_never_lifts_is_given_up() {
    let hostile =
        Hostile::start(|_| Reply::json(429, "{}").with_header("Retry-After", "120")).await;
    let http = Http::new(&hostile.url, quick(), None).expect("a client");
    let url = format!("{}/x", hostile.url);
    let answer = http
        .send(Method::GET, "/x", Kind::Read, |c, _| c.get(&url))
        .await
        .expect("an answer");
    let started = Instant::now();
    let err = http
        .wait_out(&answer, "/x", &mut Waits::default())
        .await
        .expect_err("not waited");
    assert_eq!(
        err.to_string(),
        "/x: the service asks to wait 60 s more, beyond the 2 s rollcall gives one request; try again later"
    );
    assert!(started.elapsed() < Duration::from_millis(500));

    // Short waits add up to the run's budget, shared by every request.
    let hostile =
        Hostile::start(|_| Reply::json(429, "{}").with_header("Retry-After", "0.2")).await;
    let policy = RetryPolicy {
        run_wait_budget: Duration::from_millis(500),
        ..quick()
    };
    let http = Http::new(&hostile.url, policy, None).expect("a client");
    let url = format!("{}/x", hostile.url);
    let mut waited = 0;
    let err = loop {
        let answer = http
            .send(Method::GET, "/x", Kind::Read, |c, _| c.get(&url))
            .await
            .expect("an answer");
        match http.wait_out(&answer, "/x", &mut Waits::default()).await {
            Ok(true) => waited += 1,
            Ok(false) => panic!("a 429 was not waited out"),
            Err(err) => break err,
        }
    };
    assert_eq!(waited, 2);
    assert!(
        err.to_string()
            .starts_with("/x: this run has already waited 0 s for the service, the most it waits"),
        "{err}"
    );
}

#[tokio::test]
async fn lists_that_claim_too_much_or_never_end_are_refused() {
    let ws = Workspace::new();
    // Piwik PRO: a total far beyond any account.
    let hostile = Hostile::start(|r: &Request| match r.path() {
        "/auth/token" => piwik_token(),
        _ => Reply::json(200, r#"{"meta":{"total":99999000},"data":[]}"#),
    })
    .await;
    let err = fetch_error(&ws, PIWIK_HEAD, &hostile.url).await;
    assert!(
        err.ends_with(
            "the service reports 99999000 users, more than the 500000 rollcall reads from one account"
        ),
        "{err}"
    );
    assert!(hostile.requests().len() <= 3, "pages were read");

    // Publica.la: a paginator without `last_page` whose `next_page_url` never runs out.
    let hostile = Hostile::start(|r: &Request| {
        if r.path().ends_with("/plans") {
            return Reply::json(200, r#"{"CODE":"success","data":[]}"#);
        }
        Reply::json(
            200,
            r#"{"CODE":"success","data":{"paginator":{"current_page":1,"data":[],"next_page_url":"https://x/?page=2"}}}"#,
        )
    })
    .await;
    let err = fetch_error(&ws, PUBLICA_HEAD, &hostile.url).await;
    assert!(
        err.ends_with(
            "the user list goes on past page 5000 (500000 users), more than rollcall reads from one account"
        ),
        "{err}"
    );
}

/// Whether `text` holds a character that would act on a terminal.
fn has_controls(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

#[tokio::test]
async fn live_text_cannot_break_out_of_its_place_in_any_format() {
    // A live user whose email carries a backtick, a Markdown link, HTML, a terminal escape that
    // clears the screen, a bell and a newline.
    let eve = "eve`](https://evil.example)<img src=x>\u{1b}[2J\u{7}\n@acme.org";
    let list = serde_json::json!({
        "meta": {"total": 2},
        "data": [
            {"id": "1", "type": "ppms/user", "attributes": {"email": "me@acme.org", "role": "owner"}},
            {"id": "2", "type": "ppms/user", "attributes": {"email": eve, "role": "user", "language": "en\u{1b}]0;pwned\u{7}"}},
        ]
    })
    .to_string();
    let hostile = Hostile::start(move |r: &Request| match r.path() {
        "/auth/token" => piwik_token(),
        "/api/users/v2/me" => Reply::json(200, format!(r#"{{"data":{PIWIK_ME}}}"#)),
        _ => Reply::json(200, list.clone()),
    })
    .await;
    let users =
        "policy:\n  unmanaged: delete\nusers:\n  - email: me@acme.org\n    roles: [owner]\n";
    let (_ws, session, live, plan) = planned(PIWIK_HEAD, &hostile.url, users, None).await;
    assert_eq!(plan.actions.len(), 1, "{plan:?}");

    let markdown = rollcall::render::markdown::render(&plan, &session.target, None);
    assert!(!has_controls(&markdown), "{markdown}");
    let removal = markdown
        .lines()
        .find(|l| l.starts_with("- **delete**"))
        .expect("the removal is listed");
    assert_eq!(
        removal,
        "- **delete** ``eve`](https://evil.example)<img src=x>\\e[2j\\u{7}\\n@acme.org``: in no file, and the policy is `unmanaged: delete`"
    );

    let diff = rollcall::render::diff::render(&plan, &live);
    assert!(!has_controls(&diff), "{diff}");
    assert!(
        diff.starts_with(
            "--- live/eve`](https://evil.example)<img src=x>\\e[2j\\u{7}\\n@acme.org\n+++ /dev/null\n"
        ),
        "{diff}"
    );
    assert!(diff.contains("-language: en\\e]0;pwned\\u{7}\n"), "{diff}");

    let human = rollcall::render::human::render(&plan, &session.target, false);
    assert!(!has_controls(&human), "{human}");
    assert!(
        human.contains(
            "  # user \"eve`](https://evil.example)<img src=x>\\e[2j\\u{7}\\n@acme.org\" will be deleted"
        ),
        "{human}"
    );
}

#[tokio::test]
async fn a_service_that_echoes_a_password_gets_it_into_no_journal_or_message() {
    let hostile = Hostile::start(|r: &Request| {
        let body = String::from_utf8_lossy(&r.body).to_string();
        match (r.method.as_str(), r.path()) {
            ("GET", p) if p.ends_with("/plans") => Reply::json(200, r#"{"CODE":"success","data":[]}"#),
            ("GET", _) => Reply::json(
                200,
                r#"{"CODE":"success","data":{"paginator":{"current_page":1,"last_page":1,"data":[]}}}"#,
            ),
            _ => Reply::json(
                422,
                serde_json::json!({
                    "message": format!("rejected \u{1b}[31m{body}"),
                    "errors": {"password": [format!("{body} is not allowed")]},
                })
                .to_string(),
            ),
        }
    })
    .await;
    let dir = Workspace::new();
    let journal_path = dir.path("journal.jsonl");
    let journal = Journal::open(&journal_path).expect("a journal");
    let users = "users:\n  - external_id: r-1\n    email: ana@example.org\n    password: ${READER_INITIAL_PASSWORD}\n";
    let (_ws, session, live, plan) =
        planned(PUBLICA_HEAD, &hostile.url, users, Some(journal.clone())).await;
    let report = apply::run(
        session.account.clone(),
        &plan,
        &live,
        1,
        Some(&journal),
        |_, _| {},
    )
    .await;
    let Outcome::Failed(err) = &report.outcomes[0].1 else {
        panic!("the create did not fail: {:?}", report.outcomes);
    };
    let message = err.to_string();
    assert!(message.starts_with("HTTP 422: password: "), "{message}");
    assert!(!message.contains("initial-pass-1"), "{message}");
    assert!(message.contains("<redacted>"), "{message}");
    let written = std::fs::read_to_string(&journal_path).expect("the journal");
    assert!(!written.contains("initial-pass-1"), "{written}");
    assert!(!written.contains("rejected"), "{written}");
    let action = written
        .lines()
        .find(|l| l.contains("\"event\":\"action\""))
        .expect("the action is journaled");
    assert!(
        action.contains(r#""error":{"codes":["password"],"http_status":422,"kind":"api"}"#),
        "{action}"
    );
}

#[tokio::test]
async fn two_live_users_with_one_key_stop_the_plan() {
    let hostile = Hostile::start(|r: &Request| match r.path() {
        "/auth/token" => piwik_token(),
        "/api/users/v2/me" => Reply::json(200, format!(r#"{{"data":{PIWIK_ME}}}"#)),
        _ => Reply::json(
            200,
            format!(
                r#"{{"meta":{{"total":3}},"data":[{PIWIK_ME},
                {{"id":"7","type":"ppms/user","attributes":{{"email":"Ada@acme.org","role":"user"}}}},
                {{"id":"9","type":"ppms/user","attributes":{{"email":"ada@acme.org ","role":"owner"}}}}]}}"#
            ),
        ),
    })
    .await;
    let err = fetch_error(&Workspace::new(), PIWIK_HEAD, &hostile.url).await;
    assert_eq!(
        err,
        "the account lists 2 users as ada@acme.org (ids \"7\", \"9\"); rollcall cannot tell which one the files mean. Make the service's records unique first"
    );
}

/// Collects what rollcall logs while it is alive (on this thread).
#[derive(Clone, Default)]
struct Logged(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logged {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logged {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

/// What every test in this binary logs: a scoped subscriber would miss events whose callsites
/// another test's thread registered first, so one global subscriber collects them all.
fn logged() -> &'static Logged {
    static LOGGED: std::sync::OnceLock<Logged> = std::sync::OnceLock::new();
    LOGGED.get_or_init(|| {
        let logged = Logged::default();
        let writer = logged.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_max_level(tracing::Level::WARN)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        logged
    })
}

#[tokio::test]
async fn long_waits_are_announced() {
    let logged = logged();
    let silent = Hostile::start(|_| Reply::Silent).await;
    let http = Http::new(&silent.url, quick(), None).expect("a client");
    let url = format!("{}/announce", silent.url);
    let _ = http
        .send(Method::GET, "/announce", Kind::Read, |c, _| c.get(&url))
        .await;
    assert!(
        logged.text().contains(
            " WARN no answer yet from 127.0.0.1 to GET /announce after 0.2 s; waiting up to 0.6 s\n"
        ),
        "{}",
        logged.text()
    );

    let limited =
        Hostile::start(|_| Reply::json(429, "{}").with_header("Retry-After", "0.3")).await;
    let http = Http::new(&limited.url, quick(), None).expect("a client");
    let url = format!("{}/x", limited.url);
    let answer = http
        .send(Method::GET, "/x", Kind::Read, |c, _| c.get(&url))
        .await
        .expect("an answer");
    assert!(
        http.wait_out(&answer, "/x", &mut Waits::default())
            .await
            .expect("waited")
    );
    assert!(
        logged
            .text()
            .contains(" WARN rate limited by the service: waiting 0.3 s\n"),
        "{}",
        logged.text()
    );
}

/// A Piwik PRO user list of `total` users that serves at most `cap` a page, and nothing from
/// offset `until` on.
fn capped_list(r: &Request, total: usize, cap: usize, until: usize) -> Reply {
    let number = |name: &str| {
        r.query()
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let offset = number("offset").unwrap_or(0);
    let limit = number("limit").unwrap_or(10);
    let end = (offset + limit.min(cap)).min(total).min(until.max(offset));
    let data: Vec<serde_json::Value> = (offset..end)
        .map(|n| {
            let role = if n == 0 { "owner" } else { "user" };
            serde_json::json!({"id": n.to_string(), "type": "ppms/user",
                "attributes": {"email": format!("u{n}@acme.org"), "role": role}})
        })
        .collect();
    Reply::json(
        200,
        serde_json::json!({"meta": {"total": total}, "data": data}).to_string(),
    )
}

#[tokio::test]
async fn piwik_pages_are_read_as_long_as_the_service_makes_them_or_refused() {
    let me = r#"{"data":{"id":"0","type":"ppms/user","attributes":{"email":"u0@acme.org","role":"owner"}}}"#;
    let serve = move |until: usize| {
        move |r: &Request| match r.path() {
            "/auth/token" => piwik_token(),
            "/api/users/v2/me" => Reply::json(200, me),
            _ => capped_list(r, 50, 7, until),
        }
    };
    // A cap below the asked `limit`: every user is still read.
    let hostile = Hostile::start(serve(usize::MAX)).await;
    let ws = Workspace::new();
    let session = Session::connect(desired(&ws, PIWIK_HEAD, &hostile.url, ""), None)
        .await
        .expect("connected");
    let live = session.fetch().await.expect("read");
    assert_eq!(live.users.len(), 50);
    // Pages that come back short: refused, naming what was read.
    let hostile = Hostile::start(serve(14)).await;
    let err = fetch_error(&ws, PIWIK_HEAD, &hostile.url).await;
    assert!(
        err.ends_with(&format!(
            "read 14 of 50 users from {}; the service returned fewer per page than asked, or the account changed while it was read. Nothing was planned",
            hostile.url
        )),
        "{err}"
    );
}

#[tokio::test]
async fn a_publica_list_that_does_not_add_up_to_its_total_is_refused() {
    let hostile = Hostile::start(|r: &Request| {
        if r.path().ends_with("/plans") {
            return Reply::json(200, r#"{"CODE":"success","data":[]}"#);
        }
        let users = if r.query().contains("query=deactivated") {
            "[]"
        } else {
            r#"[{"id":1,"email":"a@x.org"},{"id":2,"email":"b@x.org"}]"#
        };
        let total = if r.query().contains("query=deactivated") { 0 } else { 5 };
        Reply::json(
            200,
            format!(
                r#"{{"CODE":"success","data":{{"paginator":{{"current_page":1,"last_page":1,"total":{total},"data":{users}}}}}}}"#
            ),
        )
    })
    .await;
    let err = fetch_error(&Workspace::new(), PUBLICA_HEAD, &hostile.url).await;
    assert!(
        err.ends_with(&format!(
            "read 2 of 5 active users from {}; the store returned fewer per page than its count implies, or changed while it was read. Nothing was planned",
            hostile.url
        )),
        "{err}"
    );
}

/// A Publica.la paginator answer: `users` on `page` of `last`, with `total` when given.
fn publica_page(users: &str, page: u64, last: u64, total: Option<u64>) -> Reply {
    let total = total.map_or(String::new(), |t| format!(r#","total":{t}"#));
    Reply::json(
        200,
        format!(
            r#"{{"CODE":"success","data":{{"paginator":{{"current_page":{page},"last_page":{last}{total},"data":{users}}}}}}}"#
        ),
    )
}

#[tokio::test]
async fn publica_lists_that_cannot_be_trusted_are_refused() {
    let page_of = |r: &Request| {
        r.query()
            .split('&')
            .find_map(|p| p.strip_prefix("page="))
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(1)
    };
    // Without a total, a middle page shorter than the first is caught.
    let hostile = Hostile::start(move |r: &Request| {
        if r.path().ends_with("/plans") {
            return Reply::json(200, r#"{"CODE":"success","data":[]}"#);
        }
        if r.query().contains("query=deactivated") {
            return publica_page("[]", 1, 1, None);
        }
        match page_of(r) {
            1 => publica_page(
                r#"[{"id":1,"email":"a@x.org"},{"id":2,"email":"b@x.org"}]"#,
                1,
                3,
                None,
            ),
            2 => publica_page(r#"[{"id":3,"email":"c@x.org"}]"#, 2, 3, None),
            _ => publica_page(r#"[{"id":4,"email":"d@x.org"}]"#, 3, 3, None),
        }
    })
    .await;
    let err = fetch_error(&Workspace::new(), PUBLICA_HEAD, &hostile.url).await;
    assert!(
        err.ends_with(&format!(
            "page 2 of the user list from {} holds 1 user where the first held 2; the store changed while it was read, or pages short. Nothing was planned",
            hostile.url
        )),
        "{err}"
    );
    // A user in both the active and the deactivated list changed while they were read.
    let hostile = Hostile::start(|r: &Request| {
        if r.path().ends_with("/plans") {
            return Reply::json(200, r#"{"CODE":"success","data":[]}"#);
        }
        publica_page(r#"[{"id":7,"email":"a@x.org"}]"#, 1, 1, Some(1))
    })
    .await;
    let err = fetch_error(&Workspace::new(), PUBLICA_HEAD, &hostile.url).await;
    assert!(
        err.ends_with(
            "user 7 is listed as both active and deactivated: the store changed while it was read. Nothing was planned; run again"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_publica_plan_list_is_read_only_when_the_files_name_plans() {
    // A store whose plan list cannot be read at all.
    let hostile = Hostile::start(|r: &Request| {
        if r.path().ends_with("/plans") {
            return Reply::json(200, r#"{"CODE":"success","data":"unreadable"}"#);
        }
        publica_page("[]", 1, 1, Some(0))
    })
    .await;
    let ws = Workspace::new();
    let state = desired(&ws, PUBLICA_HEAD, &hostile.url, "users: []\n");
    let session = Session::connect(state, None).await.expect("connected");
    assert!(
        session.fetch().await.is_ok(),
        "files without plans need no plan list"
    );
    assert!(
        hostile
            .requests()
            .iter()
            .all(|r| !r.path().ends_with("/plans"))
    );
    // Files that name a plan need the list, and an unreadable one is an error.
    let state = desired(
        &ws,
        PUBLICA_HEAD,
        &hostile.url,
        "plans:\n  - name: Basic\nusers: []\n",
    );
    let session = Session::connect(state, None).await.expect("connected");
    let err = format!("{:#}", session.fetch().await.expect_err("refused"));
    assert!(err.contains("unexpected plan list"), "{err}");
}
