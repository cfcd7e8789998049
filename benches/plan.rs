//! Fetch and plan large accounts against the Piwik PRO and BEdita sandboxes, and print the figures.
//!
//! `cargo bench --bench plan` runs 10,000 and 100,000 users on Piwik PRO and 10,000 on BEdita;
//! `cargo bench --bench plan -- bedita 50000` runs the provider and sizes given (run one size per
//! invocation for a clean memory figure: the peak is the process's). The sandbox runs as a
//! separate `rollcall sandbox` process, so the memory figures are rollcall's own: after loading
//! the files, and after fetching, planning and rendering.

// A benchmark's figures are its output.
#![allow(clippy::disallowed_macros)]

use std::time::Instant;

#[path = "../tests/support/sandbox_process.rs"]
mod sandbox_process;

use rollcall::plan::PlanOptions;
use rollcall::providers::Account;
use rollcall::providers::{bedita, piwik};
use rollcall::session::Session;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let providers: Vec<&str> = ["piwik-pro", "bedita"]
        .into_iter()
        .filter(|p| args.iter().any(|a| a == p))
        .collect();
    let runs: Vec<(&str, usize)> = match (providers.is_empty(), sizes.is_empty()) {
        (true, true) => vec![
            ("piwik-pro", 10_000),
            ("piwik-pro", 100_000),
            ("bedita", 10_000),
        ],
        (true, false) => sizes.iter().map(|n| ("piwik-pro", *n)).collect(),
        (false, true) => providers.iter().map(|p| (*p, 10_000)).collect(),
        (false, false) => providers
            .iter()
            .flat_map(|p| sizes.iter().map(move |n| (*p, *n)))
            .collect(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    println!(
        "{:>9} {:>9} {:>8} {:>8} {:>8} {:>9} {:>8} {:>13} {:>13}",
        "provider",
        "users",
        "load s",
        "fetch s",
        "plan s",
        "render s",
        "actions",
        "peak MB load",
        "peak MB total"
    );
    for (provider, n) in runs {
        runtime.block_on(bench(provider, n));
    }
}

/// Seeds the sandbox with `n` users and writes files for them: every live user, one in a hundred
/// changed, a few hundred new ones. Returns the seed and the files' text after `target:`.
fn piwik_fixture(n: usize, seed: &std::path::Path) -> String {
    use piwik::sandbox::{Client, Data, User};
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
    data.write(seed).expect("write the seed");
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

/// As [`piwik_fixture`], for BEdita: users hold `editor`, one in a hundred is also granted
/// `reviewer`, and a few hundred new users get `editor`.
fn bedita_fixture(n: usize, seed: &std::path::Path) -> String {
    use bedita::sandbox::{Data, User};
    let mut data = Data::seed();
    data.users.retain(|u| u.id == bedita::sandbox::ADMIN_USER);
    let first = 1_000;
    for i in 1..=n {
        let id = first + i as u64;
        data.users.push(User {
            id,
            username: format!("person{i:06}"),
            email: Some(format!("person{i:06}@bench.example")),
            name: None,
            surname: None,
            lang: Some("en".into()),
            status: "on".into(),
            password_hash: None,
            roles: vec![2],
            deleted: false,
            blocked: false,
            created: 1_700_000_000,
            modified: 1_700_000_000,
        });
    }
    data.next_id = first + n as u64 + 1;
    data.write(seed).expect("write the seed");
    let mut yaml = String::from(
        "  provider: bedita\n  url: {url}\n  credentials:\n    api_key: ${ID}\n    username: ${WHO}\n    password: ${SECRET}\nroles:\n  - name: admin\n  - name: editor\n  - name: reviewer\ndefaults:\n  language: en\n  roles: [editor]\nusers:\n",
    );
    for i in 1..=n {
        yaml.push_str(&format!("  - username: person{i:06}\n"));
        if i % 100 == 0 {
            yaml.push_str("    roles: [editor, reviewer]\n");
        }
    }
    for i in 0..n / 250 {
        yaml.push_str(&format!("  - username: new{i:06}\n"));
    }
    yaml
}

async fn bench(provider: &str, n: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let seed = dir.path().join("seed.json");
    let body = match provider {
        "bedita" => bedita_fixture(n, &seed),
        _ => piwik_fixture(n, &seed),
    };
    let seed_path = seed.to_str().expect("a UTF-8 temporary path");
    let (mut sandbox, url) = sandbox_process::start(
        env!("CARGO_BIN_EXE_rollcall"),
        provider,
        &["--seed", seed_path],
    );
    let yaml = format!("version: 1\ntarget:\n{}", body.replacen("{url}", &url, 1));
    let file = dir.path().join("team.yaml");
    std::fs::write(&file, yaml).expect("write the files");

    let env = |name: &str| match (provider, name) {
        ("bedita", "ID") => Some(bedita::sandbox::SEED_API_KEY.to_string()),
        ("bedita", "WHO") => Some(bedita::sandbox::SEED_USERNAME.to_string()),
        ("bedita", "SECRET") => Some(bedita::sandbox::SEED_PASSWORD.to_string()),
        (_, "ID") => Some("bench".to_string()),
        (_, "SECRET") => Some("bench-secret".to_string()),
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
        "{provider:>9} {n:>9} {:>8.3} {:>8.3} {:>8.3} {:>9.3} {:>8} {:>13.1} {:>13.1}",
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
