//! How fast apply gets a job done, and how well it keeps to a service's rate limit.
//!
//! `cargo bench --bench apply` runs, against `rollcall sandbox` processes that keep their state
//! in memory:
//! - the 10k job: a Piwik PRO account of 10,000 users, 500 to invite and 430 to update, answers
//!   20 ms late. rollcall with default flags (adaptive) next to a naive client written here that
//!   makes the same calls one at a time, and the ratio;
//! - 40 writes under a limit of 30 a minute: on Publica.la, which announces its budget
//!   (`X-RateLimit-*`), and on Piwik PRO, which answers 429 with `Retry-After` only. It prints
//!   the requests refused and the share of the limit achieved.
//!
//! `cargo bench --bench apply -- job` or `-- limit` runs one part.

// A benchmark's figures are its output.
#![allow(clippy::disallowed_macros)]

use std::path::Path;
use std::time::Instant;

#[path = "../tests/support/piwik_accounts.rs"]
mod piwik_accounts;
#[path = "../tests/support/sandbox_process.rs"]
mod sandbox_process;

use rollcall::plan::PlanOptions;
use rollcall::providers::publica;
use rollcall::session::Session;

const USERS: usize = 10_000;
const INVITES: usize = 500;
const UPDATES: usize = 430;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = !args.iter().any(|a| a == "job" || a == "limit");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    if all || args.iter().any(|a| a == "job") {
        runtime.block_on(job());
    }
    if all || args.iter().any(|a| a == "limit") {
        println!();
        println!(
            "{:>10} {:>7} {:>9} {:>9} {:>10} {:>10} {:>8}",
            "provider", "writes", "limit/min", "seconds", "per minute", "of limit", "refused"
        );
        runtime.block_on(limited("publica-la"));
        runtime.block_on(limited("piwik-pro"));
    }
}

/// The 10k job at 20 ms: rollcall's default against one request at a time.
async fn job() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let seed = dir.path().join("seed.json");
    let body = piwik_job(&seed);
    let seed = seed.to_str().expect("a UTF-8 path").to_string();
    let start = || {
        sandbox_process::start(
            env!("CARGO_BIN_EXE_rollcall"),
            "piwik-pro",
            &["--seed", &seed, "--latency-ms", "20"],
        )
    };

    // rollcall, default flags (adaptive), and fixed at 4 in flight (the former default).
    let mut rows = Vec::new();
    let mut live = None;
    for (name, fixed) in [
        ("rollcall, default", None),
        ("rollcall, fixed at 4", Some(4)),
    ] {
        let (mut sandbox, url) = start();
        let session = connect(dir.path(), &body, &url, &piwik_env).await;
        let (fetched, plan) = session.plan(&PlanOptions::default()).await.expect("plan");
        session.pace.set_fixed(fixed);
        let started = Instant::now();
        let report = rollcall::apply::run(
            session.account.clone(),
            &plan,
            &fetched,
            rollcall::apply::Concurrency::Paced(session.pace.clone()),
            None,
            |_, _| {},
        )
        .await;
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(report.failed(), 0);
        assert_eq!(report.done(), INVITES + UPDATES);
        let (_, _, refused) = session.pace.status();
        let _ = sandbox.kill();
        let _ = sandbox.wait();
        rows.push((name, seconds, refused));
        live = Some(fetched);
    }
    let live = live.expect("a plan");

    // The naive client: the same invites and updates, one request at a time.
    let (mut sandbox, url) = start();
    let naive = naive_job(&url, &live).await;
    let _ = sandbox.kill();
    let _ = sandbox.wait();

    println!(
        "{:>22} {:>7} {:>10} {:>10} {:>8}",
        "10k job, 20 ms", "writes", "seconds", "per second", "refused"
    );
    let writes = INVITES + UPDATES;
    println!(
        "{:>22} {writes:>7} {naive:>10.2} {:>10.1} {:>8}",
        "naive, one at a time",
        writes as f64 / naive,
        0
    );
    for (name, seconds, refused) in &rows {
        println!(
            "{name:>22} {writes:>7} {seconds:>10.2} {:>10.1} {refused:>8}   {:.1}x the naive client",
            writes as f64 / seconds,
            naive / seconds
        );
    }
}

/// 10,000 live users; files with every one of them, 430 changed, and 500 new.
fn piwik_job(seed: &Path) -> String {
    piwik_accounts::account(USERS)
        .write(seed)
        .expect("write the seed");
    let mut yaml = String::from(
        "  provider: piwik-pro\n  url: {url}\n  credentials:\n    client_id: ${ID}\n    client_secret: ${SECRET}\ndefaults:\n  language: en-US\nusers:\n  - email: api@bench.example\n    roles: [owner]\n",
    );
    for i in 1..=USERS {
        yaml.push_str(&format!("  - email: person{i:06}@bench.example\n"));
        if i <= UPDATES {
            yaml.push_str("    language: de-DE\n");
        }
    }
    for i in 0..INVITES {
        yaml.push_str(&format!("  - email: new{i:06}@bench.example\n"));
    }
    yaml
}

fn piwik_env(name: &str) -> Option<String> {
    match name {
        "ID" => Some("bench".into()),
        "SECRET" => Some("bench-secret".into()),
        _ => None,
    }
}

async fn connect(
    dir: &Path,
    body: &str,
    url: &str,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Session {
    let yaml = format!("version: 1\ntarget:\n{}", body.replacen("{url}", url, 1));
    let file = dir.join("team.yaml");
    std::fs::write(&file, yaml).expect("write the files");
    let desired = rollcall::desired::load(&[file], env)
        .result
        .expect("valid files");
    Session::connect(desired, None).await.expect("connect")
}

/// The job as a script would do it: a token, then each invite and update in turn.
async fn naive_job(url: &str, live: &rollcall::model::LiveState) -> f64 {
    rollcall::providers::http::init_tls();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let token = piwik_accounts::token(&client, url).await;
    let send = |request: reqwest::RequestBuilder, body: serde_json::Value| {
        request
            .bearer_auth(&token)
            .header("Accept", "application/vnd.api+json")
            .header("Content-Type", "application/vnd.api+json")
            .body(body.to_string())
            .send()
    };
    for i in 0..INVITES {
        let body = serde_json::json!({ "data": { "type": "ppms/user", "attributes": {
            "email": format!("new{i:06}@bench.example"), "language": "en-US" } } });
        let answer = send(client.post(format!("{url}/api/users/v2/invite")), body)
            .await
            .expect("an invite");
        assert!(answer.status().is_success(), "{}", answer.status());
    }
    for i in 1..=UPDATES {
        let key = format!("person{i:06}@bench.example");
        let id = &live
            .users
            .iter()
            .find(|u| u.key == key)
            .expect("a live user")
            .id;
        let body = serde_json::json!({ "data": { "type": "ppms/user", "id": id,
            "attributes": { "language": "de-DE" } } });
        let answer = send(client.patch(format!("{url}/api/users/v2/{id}")), body)
            .await
            .expect("an update");
        assert!(answer.status().is_success(), "{}", answer.status());
    }
    started.elapsed().as_secs_f64()
}

/// 40 creates under a limit of 30 a minute, with default flags.
async fn limited(provider: &str) {
    const WRITES: usize = 40;
    const LIMIT: u32 = 30;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (mut sandbox, url) = sandbox_process::start(
        env!("CARGO_BIN_EXE_rollcall"),
        provider,
        &["--rate-limit", &LIMIT.to_string(), "--rate-window", "60"],
    );
    let mut body = match provider {
        "publica-la" => {
            "  provider: publica-la\n  url: {url}\n  credentials:\n    api_token: ${ID}\nusers:\n"
                .to_string()
        }
        _ => "  provider: piwik-pro\n  url: {url}\n  credentials:\n    client_id: ${ID}\n    client_secret: ${SECRET}\nusers:\n".to_string(),
    };
    for i in 0..WRITES {
        match provider {
            "publica-la" => body.push_str(&format!(
                "  - external_id: \"b{i:04}\"\n    email: new{i:04}@bench.example\n    password: ${{PASSWORD}}\n"
            )),
            _ => body.push_str(&format!("  - email: new{i:04}@bench.example\n")),
        }
    }
    let env = |name: &str| match (provider, name) {
        ("publica-la", "ID") => Some(publica::sandbox::SEED_TOKEN.to_string()),
        (_, "ID") => Some("sandbox-client".to_string()),
        (_, "SECRET") => Some("sandbox-secret".to_string()),
        (_, "PASSWORD") => Some("bench-password".to_string()),
        _ => None,
    };
    let session = connect(dir.path(), &body, &url, &env).await;
    let (live, plan) = session.plan(&PlanOptions::default()).await.expect("plan");
    let started = Instant::now();
    let report = rollcall::apply::run(
        session.account.clone(),
        &plan,
        &live,
        rollcall::apply::Concurrency::Paced(session.pace.clone()),
        None,
        |_, _| {},
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let (_, _, refused) = session.pace.status();
    let done = report.done();
    // The run's own budget includes the plan's reads; the writes are what the job is.
    let per_minute = done as f64 / seconds * 60.0;
    println!(
        "{provider:>10} {done:>7} {LIMIT:>9} {seconds:>9.1} {per_minute:>10.1} {:>9.0}% {refused:>8}",
        100.0 * per_minute / f64::from(LIMIT)
    );
    assert_eq!(report.failed(), 0, "{provider}: no action may fail");
}
