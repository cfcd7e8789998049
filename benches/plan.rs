//! Fetch and plan large accounts against the Piwik PRO sandbox, and print the figures.
//!
//! `cargo bench --bench plan` runs 10,000 and 100,000 users; `cargo bench --bench plan -- 50000`
//! runs the sizes given (run one size per invocation for a clean memory figure: the peak is the
//! process's). The sandbox runs as a separate `rollcall sandbox` process, so the memory figures are
//! rollcall's own: after loading the files, and after fetching, planning and rendering.

use std::time::Instant;

#[path = "../tests/support/sandbox_process.rs"]
mod sandbox_process;

use rollcall::cli::session::Session;
use rollcall::plan::PlanOptions;
use rollcall::providers::Account;
use rollcall::providers::piwik::sandbox::{Client, Data, User};

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    println!(
        "{:>9} {:>8} {:>8} {:>8} {:>9} {:>8} {:>13} {:>13}",
        "users",
        "load s",
        "fetch s",
        "plan s",
        "render s",
        "actions",
        "peak MB load",
        "peak MB total"
    );
    for n in sizes {
        runtime.block_on(bench(n));
    }
}

async fn bench(n: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let seed = dir.path().join("seed.json");
    let mut data = Data {
        organization: "bench".into(),
        clients: vec![Client {
            client_id: "bench".into(),
            client_secret: "bench-secret".into(),
            user: "api@bench.example".into(),
        }],
        users: Vec::with_capacity(n + 1),
    };
    let user = |i: usize, email: String, role: &str| User {
        id: uuid::Uuid::from_u128(0xbe4c_0000_0000_4000_8000_0000_0000_0000 + i as u128)
            .to_string(),
        email,
        role: role.into(),
        language: "en-US".into(),
        added_at: "2024-01-01T00:00:00+00:00".into(),
    };
    data.users
        .push(user(0, "api@bench.example".into(), "OWNER"));
    for i in 1..=n {
        data.users
            .push(user(i, format!("person{i:06}@bench.example"), "USER"));
    }
    data.write(&seed).expect("write the seed");

    let seed_path = seed.to_str().expect("a UTF-8 temporary path");
    let (mut sandbox, url) =
        sandbox_process::start(env!("CARGO_BIN_EXE_rollcall"), &["--seed", seed_path]);

    // The files: every live user, one in a hundred with a new language, a few hundred new ones.
    let mut yaml = format!(
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: {url}\n  credentials:\n    client_id: ${{ID}}\n    client_secret: ${{SECRET}}\ndefaults:\n  language: en-US\nusers:\n"
    );
    for i in 1..=n {
        yaml.push_str(&format!("  - email: person{i:06}@bench.example\n"));
        if i % 100 == 0 {
            yaml.push_str("    language: de-DE\n");
        }
    }
    for i in 0..n / 250 {
        yaml.push_str(&format!("  - email: new{i:06}@bench.example\n"));
    }
    let file = dir.path().join("team.yaml");
    std::fs::write(&file, yaml).expect("write the files");

    let env = |name: &str| match name {
        "ID" => Some("bench".to_string()),
        "SECRET" => Some("bench-secret".to_string()),
        _ => None,
    };
    let started = Instant::now();
    let desired = rollcall::desired::load(&[file], &env)
        .result
        .expect("valid files");
    let load = started.elapsed();
    let load_peak = peak_rss_mb();
    let session = Session::connect(desired, None).await.expect("connect");
    let started = Instant::now();
    let live = session.account.fetch().await.expect("fetch");
    let fetch = started.elapsed();
    let started = Instant::now();
    let plan = rollcall::plan::plan(&session.desired, &live, &PlanOptions::default());
    let planning = started.elapsed();
    let started = Instant::now();
    let text = rollcall::render::human::render(&plan, &session.target, false);
    let render = started.elapsed();
    assert!(text.ends_with('\n'));
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    println!(
        "{n:>9} {:>8.3} {:>8.3} {:>8.3} {:>9.3} {:>8} {:>13.1} {:>13.1}",
        load.as_secs_f64(),
        fetch.as_secs_f64(),
        planning.as_secs_f64(),
        render.as_secs_f64(),
        plan.actions.len(),
        load_peak,
        peak_rss_mb()
    );
}

/// The process's peak resident memory, from `/proc/self/status` (Linux).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
