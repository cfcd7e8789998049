//! How busy apply keeps a rate-limited API: invites a few hundred users through a sandbox that
//! allows a fixed number of requests per second, and prints the rate achieved against the rate
//! allowed. `cargo bench --bench apply [-- USERS LIMIT]` (defaults: 300 users, 20 requests/s).

// A benchmark's figures are its output.
#![allow(clippy::disallowed_macros)]

use std::time::Instant;

#[path = "../tests/support/sandbox_process.rs"]
mod sandbox_process;

use rollcall::plan::PlanOptions;
use rollcall::session::Session;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let users = args.first().copied().unwrap_or(300);
    let limit = args.get(1).copied().unwrap_or(20);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    println!(
        "{:>6} {:>8} {:>11} {:>9} {:>11} {:>10} {:>7}",
        "users", "allowed/s", "parallelism", "seconds", "achieved/s", "of allowed", "failed"
    );
    for parallelism in [1, 4, 16] {
        runtime.block_on(bench(users, limit, parallelism));
    }
}

async fn bench(users: usize, limit: usize, parallelism: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let limit_text = limit.to_string();
    let (mut sandbox, url) = sandbox_process::start(
        env!("CARGO_BIN_EXE_rollcall"),
        "piwik-pro",
        &["--rate-limit", &limit_text, "--rate-window", "1"],
    );

    let mut yaml = format!(
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: {url}\n  credentials:\n    client_id: ${{ID}}\n    client_secret: ${{SECRET}}\nusers:\n"
    );
    for i in 0..users {
        yaml.push_str(&format!("  - email: new{i:05}@bench.example\n"));
    }
    let file = dir.path().join("team.yaml");
    std::fs::write(&file, yaml).expect("write the files");
    let env = |name: &str| match name {
        "ID" => Some("sandbox-client".to_string()),
        "SECRET" => Some("sandbox-secret".to_string()),
        _ => None,
    };
    let desired = rollcall::desired::load(&[file], &env)
        .result
        .expect("valid files");
    let session = Session::connect(desired, None).await.expect("connect");
    let (live, plan) = session.plan(&PlanOptions::default()).await.expect("plan");
    // Let the window that planning used run out, so the apply starts with a full allowance.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let started = Instant::now();
    let report = rollcall::apply::run(
        session.account.clone(),
        &plan,
        &live,
        parallelism,
        None,
        |_, _| {},
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let achieved = report.done() as f64 / seconds;
    println!(
        "{users:>6} {limit:>8} {parallelism:>11} {seconds:>9.2} {achieved:>11.1} {:>9.0}% {:>7}",
        100.0 * achieved / limit as f64,
        report.failed()
    );
}
