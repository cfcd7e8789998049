//! How close `rollcall plan` comes to the speed of the fetch it cannot avoid, and how fast every
//! format renders a large plan.
//!
//! `cargo bench --bench plan` seeds a Piwik PRO sandbox (a separate `rollcall sandbox` process)
//! with 10,000 and 100,000 users and answers with 0 and 50 ms of latency. For each, it times:
//! - a raw fetch made here: plain reqwest, the same pages at the same concurrency as rollcall
//!   (8 in flight), bodies read and dropped, nothing parsed but the first page's total;
//! - `rollcall plan --format json` as a whole process (load, fetch, plan, render), with its peak
//!   resident memory;
//!
//! and prints the two side by side with their ratio (median of three runs each). Then it renders
//! a 100,000-action plan in every format. `cargo bench --bench plan -- 10000` runs one size.

// A benchmark's figures are its output.
#![allow(clippy::disallowed_macros)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "../tests/support/piwik_accounts.rs"]
mod piwik_accounts;
#[path = "../tests/support/sandbox_process.rs"]
mod sandbox_process;

use rollcall::model::LiveState;
use rollcall::plan::PlanOptions;
use rollcall::render::{self, TargetInfo};

const RUNS: usize = 3;
/// rollcall's own page concurrency, for the raw fetch to match.
const CONCURRENCY: usize = rollcall::providers::PAGE_CONCURRENCY;
const PAGE: usize = 1000;

fn main() {
    // The measuring child: see `rollcall_plan`.
    if std::env::args().nth(1).as_deref() == Some(MEASURE) {
        let file = std::env::args().nth(2).expect("a file");
        let (seconds, rss) = measure(Path::new(&file));
        println!("{seconds} {rss}");
        return;
    }
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
        "{:>8} {:>8} {:>12} {:>14} {:>7} {:>13}",
        "users", "latency", "raw fetch s", "rollcall plan s", "ratio", "peak RSS MB"
    );
    for &n in &sizes {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let seed = dir.path().join("seed.json");
        let body = fixture(n, &seed);
        for latency in [0u64, 50] {
            let seed_arg = seed.to_str().expect("a UTF-8 path");
            let latency_arg = latency.to_string();
            let (mut sandbox, url) = sandbox_process::start(
                env!("CARGO_BIN_EXE_rollcall"),
                "piwik-pro",
                &["--seed", seed_arg, "--latency-ms", &latency_arg],
            );
            let file = dir.path().join("team.yaml");
            let yaml = format!("version: 1\ntarget:\n{}", body.replacen("{url}", &url, 1));
            std::fs::write(&file, yaml).expect("write the files");
            let raw = median((0..RUNS).map(|_| runtime.block_on(raw_fetch(&url, n))));
            let mut peak = 0.0f64;
            let whole = median((0..RUNS).map(|_| {
                let (seconds, rss) = rollcall_plan(&file);
                peak = peak.max(rss);
                seconds
            }));
            let _ = sandbox.kill();
            let _ = sandbox.wait();
            println!(
                "{n:>8} {:>6}ms {raw:>12.3} {whole:>14.3} {:>6.2}x {peak:>13.1}",
                latency,
                whole / raw
            );
        }
    }
    println!();
    render_all("piwik-pro", 100_000);
    println!();
    render_all("bedita", 20_000);
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Seeds `n` live users and writes files for them: every live user, one in a hundred changed,
/// a few hundred new ones. Returns the files' text after `target:`.
fn fixture(n: usize, seed: &Path) -> String {
    piwik_accounts::account(n)
        .write(seed)
        .expect("write the seed");
    let mut yaml = String::from(
        "  provider: piwik-pro\n  url: {url}\n  credentials:\n    client_id: ${ID}\n    client_secret: ${SECRET}\ndefaults:\n  language: en-US\nusers:\n",
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
    yaml
}

/// The same pages rollcall reads, fetched as plainly as possible: a token, the first page for
/// the total, then the rest with [`CONCURRENCY`] in flight.
async fn raw_fetch(url: &str, n: usize) -> f64 {
    rollcall::providers::http::init_tls();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let started = Instant::now();
    let bearer = format!("Bearer {}", piwik_accounts::token(&client, url).await);
    let page = |offset: usize| {
        let request = client
            .get(format!("{url}/api/users/v2"))
            .query(&[("offset", offset), ("limit", PAGE)])
            .header("Authorization", &bearer)
            .send();
        async move {
            request
                .await
                .expect("a page")
                .bytes()
                .await
                .expect("a page body")
        }
    };
    let first: serde_json::Value = serde_json::from_slice(&page(0).await).expect("JSON");
    let total = first["meta"]["total"].as_u64().expect("a total") as usize;
    assert!(total > n, "the seed's users and the API client's own");
    let mut offsets = (PAGE..total).step_by(PAGE);
    let mut running = tokio::task::JoinSet::new();
    let mut bytes = 0;
    loop {
        while running.len() < CONCURRENCY
            && let Some(offset) = offsets.next()
        {
            running.spawn(page(offset));
        }
        let Some(body) = running.join_next().await else {
            break;
        };
        bytes += body.expect("a page task").len();
    }
    assert!(bytes > 0);
    started.elapsed().as_secs_f64()
}

/// The argument that makes this benchmark the small process that measures one plan.
const MEASURE: &str = "--measure-plan";

/// `rollcall plan --format json FILE` as a process: its wall time and peak resident memory.
///
/// Linux counts in a child's peak the memory of the process it was started from, up to its
/// `exec`, and this benchmark holds large fixtures. So the plan is started from a fresh, small
/// copy of this benchmark, which measures it and prints the figures.
fn rollcall_plan(file: &Path) -> (f64, f64) {
    let output = Command::new(std::env::current_exe().expect("this benchmark"))
        .arg(MEASURE)
        .arg(file)
        .stderr(Stdio::inherit())
        .output()
        .expect("start the measuring process");
    assert!(output.status.success(), "the measured plan failed");
    let text = String::from_utf8(output.stdout).expect("figures");
    let mut figures = text
        .split_whitespace()
        .map(|f| f.parse::<f64>().expect("a figure"));
    (
        figures.next().expect("seconds"),
        figures.next().expect("peak RSS"),
    )
}

/// Runs the plan and returns its wall time and peak resident memory in MB.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which also gives its memory
fn measure(file: &Path) -> (f64, f64) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["plan", "--format", "json"])
        .arg(file)
        .env_clear()
        .env("ID", "bench")
        .env("SECRET", "bench-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start rollcall");
    let pid = i32::try_from(child.id()).expect("a pid");
    let mut status = 0;
    // SAFETY: `rusage` is plain data that `wait4` fills in; the child is ours and not yet waited.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(waited, pid, "rollcall ran");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "rollcall plan failed"
    );
    // Linux reports `ru_maxrss` in KiB.
    (seconds, usage.ru_maxrss as f64 / 1024.0)
}

/// A plan of `n` new users, rendered in every format: Piwik PRO invites, or BEdita creations
/// with their role grants.
fn render_all(provider: &str, n: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut yaml = match provider {
        "bedita" => String::from(
            "version: 1\ntarget:\n  provider: bedita\n  url: https://bench.example\n  credentials:\n    api_key: ${KEY}\n    client_secret: ${SECRET}\nroles:\n  - name: editor\nusers:\n",
        ),
        _ => String::from(
            "version: 1\ntarget:\n  provider: piwik-pro\n  url: https://bench.example\n  credentials:\n    client_id: ${ID}\n    client_secret: ${SECRET}\nusers:\n",
        ),
    };
    for i in 0..n {
        yaml.push_str(&match provider {
            "bedita" => format!("  - username: new{i:06}\n    roles: [editor]\n"),
            _ => format!("  - email: new{i:06}@bench.example\n    language: de-DE\n"),
        });
    }
    let file = dir.path().join("team.yaml");
    std::fs::write(&file, yaml).expect("write the files");
    let env = |name: &str| Some(format!("{name}-value"));
    let desired = rollcall::desired::load(&[file], &env)
        .result
        .expect("valid files");
    let mut live = LiveState::new(Vec::new(), None);
    if provider == "bedita" {
        live.roles = Some(Vec::new());
    }
    let plan = rollcall::plan::plan(&desired, &live, &PlanOptions::default());
    let target = TargetInfo {
        provider: desired.target.provider,
        url: "https://bench.example".into(),
    };
    println!(
        "{:>9} {:>9} {:>8} {:>9} {:>11}",
        "provider", "format", "actions", "render s", "output MB"
    );
    let formats: [(&str, &dyn Fn() -> String); 4] = [
        ("human", &|| render::human::render(&plan, &target, false)),
        ("json", &|| render::json::render(&plan, &target)),
        ("markdown", &|| {
            render::markdown::render(&plan, &target, None)
        }),
        ("diff", &|| render::diff::render(&plan, &live)),
    ];
    for (name, render) in formats {
        let started = Instant::now();
        let text = render();
        let seconds = started.elapsed();
        println!(
            "{provider:>9} {name:>9} {:>8} {:>9.3} {:>11.1}",
            plan.actions.len(),
            seconds.as_secs_f64(),
            text.len() as f64 / 1e6
        );
        std::hint::black_box(text);
    }
}
