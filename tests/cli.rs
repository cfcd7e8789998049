//! The `rollcall` binary as a user runs it: output streams, exit codes, colour, help.

mod common;

use std::process::{Command, Output};

use common::{ENV_VARS, PIWIK_HEAD, Workspace};

fn rollcall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .envs(ENV_VARS.iter().copied())
        .output()
        .expect("run rollcall")
}

/// The text of `examples/NAME.yaml`.
fn example(name: &str) -> String {
    let path = format!("{}/examples/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("an example")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn validate_prints_a_one_line_summary_and_exits_zero() {
    let out = rollcall(&["validate", "examples/piwik-pro.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "valid: 12 users and 3 groups in 1 file for piwik-pro at https://acme.piwik.pro\n"
    );
    assert_eq!(stderr(&out), "");
    // `-q` leaves the one-line summary.
    let out = rollcall(&["-q", "validate", "examples/quickstart.yaml"]);
    assert_eq!(
        (out.status.code(), stdout(&out), stderr(&out)),
        (
            Some(0),
            "valid: 5 users in 1 file for piwik-pro at the built-in sandbox\n".to_string(),
            String::new()
        )
    );
}

#[test]
fn the_quickstart_needs_no_credentials() {
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["validate", "examples/quickstart.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "valid: 5 users in 1 file for piwik-pro at the built-in sandbox\n"
    );
}

#[test]
fn problems_go_to_stderr_and_exit_one() {
    let ws = Workspace::new();
    let path = ws.write(
        "team.yaml",
        format!("{PIWIK_HEAD}users:\n  - emial: ada@acme.org\n"),
    );
    let out = rollcall(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.contains("error: unknown key `emial` in a user"),
        "{err}"
    );
    assert!(err.contains("team.yaml:9:5"), "{err}");
    assert!(err.ends_with("2 problems found in 1 file\n"), "{err}");
    assert!(!err.contains("\x1b["), "colour in a pipe: {err}");
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let ws = Workspace::new();
    let path = ws.write("team.yaml", "version: 2\n");
    let path = path.to_str().unwrap();
    let out = rollcall(&["--color", "always", "validate", path]);
    assert!(
        stderr(&out).contains("\x1b["),
        "no colour with --color always"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["--color", "never", "validate", path])
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("\x1b["));
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["validate", path])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("\x1b["));
}

#[test]
fn secrets_from_the_environment_never_reach_output_or_logs() {
    let out = rollcall(&["-vvv", "validate", "examples/piwik-pro.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    for (_, value) in ENV_VARS
        .iter()
        .filter(|(k, _)| k.contains("SECRET") || k.contains("PASSWORD"))
    {
        assert!(!stdout(&out).contains(value) && !stderr(&out).contains(value));
    }
    assert!(
        stderr(&out).contains("files are valid"),
        "-vvv shows logs: {}",
        stderr(&out)
    );
}

#[test]
fn usage_mistakes_exit_one_and_help_exits_zero() {
    let out = rollcall(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("PATH"), "{}", stderr(&out));
    let out = rollcall(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(1));
    let out = rollcall(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for needle in ["validate", "schema", "completions", "--color", "Examples:"] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    for command in ["validate", "schema", "completions"] {
        let out = rollcall(&[command, "--help"]);
        assert!(
            stdout(&out).contains("Examples:"),
            "`{command} --help` has no examples"
        );
    }
}

#[test]
fn schema_prints_the_checked_in_file() {
    let out = rollcall(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let file =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.json")).unwrap();
    assert_eq!(stdout(&out), file);
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = rollcall(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(
            stdout(&out).contains("validate"),
            "{shell} completions lack `validate`"
        );
    }
}

/// Runs rollcall in `dir` with no environment but `extra`, as a fresh shell would.
fn rollcall_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .output()
        .expect("run rollcall")
}

#[test]
fn the_readme_flow_converges_against_the_built_in_sandbox() {
    let ws = Workspace::new();
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    let out = rollcall_in(ws.dir.path(), &["plan", quickstart]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = stdout(&out);
    assert!(
        plan.contains("Plan: 2 to invite, 1 to change, 1 to delete (6 actions)."),
        "{plan}"
    );

    let out = rollcall_in(ws.dir.path(), &["plan", "--detailed-exitcode", quickstart]);
    assert_eq!(out.status.code(), Some(2), "changes present");
    ws.write("broken.yaml", "version: 1\nusers: [\n");
    let out = rollcall_in(
        ws.dir.path(),
        &["plan", "--detailed-exitcode", "broken.yaml"],
    );
    assert_eq!(out.status.code(), Some(1), "an error is 1, never 2");
    let out = rollcall_in(ws.dir.path(), &["plan", "--expect-no-changes", quickstart]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the account has drifted from the files"),
        "{}",
        stderr(&out)
    );

    let out = rollcall_in(ws.dir.path(), &["apply", quickstart]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "no terminal and no --auto-approve"
    );
    assert!(stderr(&out).contains("--auto-approve"), "{}", stderr(&out));

    let out = rollcall_in(ws.dir.path(), &["apply", "--auto-approve", quickstart]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "Apply complete: 6 of 6 actions done, 0 failed, 0 skipped. Verified: the account matches the files.\n"
        ),
        "{}",
        stdout(&out)
    );
    assert!(
        ws.path(".rollcall/sandbox/piwik-pro.json").exists(),
        "the sandbox keeps its state"
    );

    let journal = std::fs::read_to_string(ws.path(".rollcall/journal.jsonl")).unwrap();
    assert_eq!(
        journal
            .lines()
            .filter(|l| l.contains("\"event\":\"action\""))
            .count(),
        6
    );
    assert!(
        !journal.contains("sandbox-secret"),
        "no secret in the journal"
    );

    let out = rollcall_in(ws.dir.path(), &["plan", "--detailed-exitcode", quickstart]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));

    let out = rollcall_in(ws.dir.path(), &["apply", "--auto-approve", quickstart]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !stdout(&out).contains("Apply complete"),
        "a second apply does nothing"
    );
}

#[test]
fn plan_json_is_versioned() {
    let ws = Workspace::new();
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    let out = rollcall_in(ws.dir.path(), &["plan", "--format", "json", quickstart]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["format_version"], "1");
    assert_eq!(json["summary"]["delete"], 1);
}

#[test]
fn a_blocked_plan_exits_three() {
    let ws = Workspace::new();
    let path = ws.write(
        "team.yaml",
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: sandbox\npolicy:\n  max_removals: 1\nusers:\n  - email: bob@acme.org\n    state: absent\n  - email: carol@acme.org\n    state: absent\n",
    );
    let out = rollcall_in(ws.dir.path(), &["plan", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("Blocked by the max-removals guard"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("--allow-removals 2"));
    let out = rollcall_in(
        ws.dir.path(),
        &["apply", "--auto-approve", path.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(3));
    let out = rollcall_in(
        ws.dir.path(),
        &[
            "apply",
            "--auto-approve",
            "--allow-removals",
            "2",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Apply complete: 2 of 2 actions done"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unreachable_accounts_fail_with_one_line() {
    let ws = Workspace::new();
    let path = ws.write(
        "team.yaml",
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: http://127.0.0.1:9\n  credentials:\n    client_id: ${ID}\n    client_secret: ${SECRET}\nusers: []\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["plan", path.to_str().unwrap()])
        .env_clear()
        .env("ID", "x")
        .env("SECRET", "y")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot read the users of piwik-pro http://127.0.0.1:9"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_saved_plan_applies_exactly_and_refuses_when_anything_moved() {
    let ws = Workspace::new();
    let quickstart = example("quickstart");
    ws.write("team.yaml", &quickstart);
    let dir = ws.dir.path();

    // Someone changes a user by hand after the plan was made.
    let out = rollcall_in(dir, &["plan", "team.yaml", "--out", "plan.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Saved the plan to `plan.json` (sha256:"),
        "{}",
        stderr(&out)
    );
    let seed = rollcall::providers::piwik::sandbox::Data::seed();
    let mut changed = seed.clone();
    changed
        .users
        .iter_mut()
        .find(|u| u.email == "ada@acme.org")
        .unwrap()
        .language = "fr-FR".into();
    changed
        .write(&ws.path(".rollcall/sandbox/piwik-pro.json"))
        .unwrap();
    let out = rollcall_in(dir, &["apply", "plan.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("these users changed since the plan was made"),
        "{err}"
    );
    assert!(
        err.contains("ada@acme.org: language \"en-US\" -> \"fr-FR\""),
        "{err}"
    );
    assert!(
        !err.contains("bob@acme.org"),
        "only users that moved are named: {err}"
    );

    // The files are edited after the plan was made.
    seed.write(&ws.path(".rollcall/sandbox/piwik-pro.json"))
        .unwrap();
    ws.write("team.yaml", quickstart.replace("fi-FI", "sv-SE"));
    let out = rollcall_in(dir, &["apply", "plan.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the files changed since the plan was made (`team.yaml`)"),
        "{}",
        stderr(&out)
    );

    // Unchanged: exactly the plan is applied, and then the account matches.
    ws.write("team.yaml", &quickstart);
    let out = rollcall_in(dir, &["apply", "plan.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "Apply complete: 6 of 6 actions done, 0 failed, 0 skipped. Verified: the account matches the files.\n"
        ),
        "{}",
        stdout(&out)
    );
    let out = rollcall_in(dir, &["plan", "--detailed-exitcode", "team.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // A file that is not a saved plan.
    ws.write("other.json", "{\"hello\": 1}");
    let out = rollcall_in(dir, &["apply", "other.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not a plan saved by `rollcall plan --out`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_saved_plan_for_another_target_is_refused() {
    let ws = Workspace::new();
    ws.write(
        "team.yaml",
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: ${TARGET_URL}\n  credentials:\n    client_id: ${ID}\n    client_secret: ${SECRET}\nusers:\n  - email: new@acme.org\n",
    );
    let run = |url: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .args(args)
            .current_dir(ws.dir.path())
            .env_clear()
            .env("TARGET_URL", url)
            .env("ID", "id")
            .env("SECRET", "secret")
            .output()
            .unwrap()
    };
    let out = run("sandbox", &["plan", "team.yaml", "--out", "plan.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(
        "https://acme.piwik.pro",
        &["apply", "plan.json", "--auto-approve"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the plan is for piwik-pro sandbox, but the files now target piwik-pro https://acme.piwik.pro"),
        "{}",
        stderr(&out)
    );
}

#[path = "support/sandbox_process.rs"]
mod sandbox_process;

/// Starts `rollcall sandbox` on a free port and returns the child and its URL.
fn sandbox_process() -> (std::process::Child, String) {
    sandbox_process::start(env!("CARGO_BIN_EXE_rollcall"), "piwik-pro", &[])
}

/// rollcall in `dir` with nothing from this environment but the sandbox process's client,
/// whose secret is `secret`.
fn rollcall_for_sandbox(dir: &std::path::Path, secret: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollcall"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PIWIK_CLIENT_ID", "sandbox-client")
        .env("PIWIK_CLIENT_SECRET", secret);
    command
}

#[test]
fn no_secret_reaches_any_output_plan_file_or_journal() {
    let (mut sandbox, url) = sandbox_process();
    let ws = Workspace::new();
    let team = format!(
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: {url}\n  credentials:\n    client_id: ${{PIWIK_CLIENT_ID}}\n    client_secret: ${{PIWIK_CLIENT_SECRET}}\nusers:\n  - email: ada@acme.org\n    language: de-DE\n  - email: new@acme.org\n  - email: bob@acme.org\n    state: absent\n"
    );
    ws.write("team.yaml", team);
    let secret = "sandbox-secret";
    let run = |args: &[&str]| {
        rollcall_for_sandbox(ws.dir.path(), secret)
            .args(args)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    };
    let mut seen = String::new();
    for args in [
        &["validate", "team.yaml"][..],
        &["plan", "team.yaml", "--out", "plan.json"],
        &["plan", "team.yaml", "--format", "json"],
        &["plan", "team.yaml", "--format", "markdown"],
        &["plan", "team.yaml", "--format", "diff"],
        &["apply", "plan.json", "--auto-approve"],
        &["plan", "--detailed-exitcode", "team.yaml"],
        &["export", "team.yaml", "--out", "exported.yaml"],
        &["plan", "--detailed-exitcode", "exported.yaml"],
    ] {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        seen.push_str(&stdout(&out));
        seen.push_str(&stderr(&out));
    }
    seen.push_str(&std::fs::read_to_string(ws.path("plan.json")).unwrap());
    let exported = std::fs::read_to_string(ws.path("exported.yaml")).unwrap();
    assert!(
        exported.contains("client_secret: ${PIWIK_CLIENT_SECRET}"),
        "{exported}"
    );
    seen.push_str(&exported);
    let journal = std::fs::read_to_string(ws.path(".rollcall/journal.jsonl")).unwrap();
    seen.push_str(&journal);
    let _ = sandbox.kill();
    assert!(
        journal.contains("\"status\":204"),
        "the journal has the writes"
    );
    assert!(
        seen.contains("Apply complete: 3 of 3 actions done"),
        "{seen}"
    );
    assert!(!seen.contains(secret), "a secret leaked");
}

/// Access as code through the commands, over HTTP (so the plan reads the account while the files
/// load, and the access once they have): plan, apply, plan again to nothing, export, and a plan
/// of the export to nothing.
#[test]
fn access_over_http_plans_applies_exports_and_matches() {
    let (mut sandbox, url) = sandbox_process();
    let ws = Workspace::new();
    let head = format!(
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: {url}\n  credentials:\n    client_id: ${{PIWIK_CLIENT_ID}}\n    client_secret: ${{PIWIK_CLIENT_SECRET}}\n"
    );
    ws.write("target.yaml", &head);
    ws.write(
        "team.yaml",
        format!(
            "{head}users:
  - email: ada@acme.org
    meta_sites:
      All Acme sites: view
  - email: bob@acme.org
  - email: carol@acme.org
    apps:
      5a4db0c5-0000-4000-8000-000000000102: no-access
  - email: margaret@acme.org
groups:
  - name: Blog readers
    members: [carol@acme.org]
    apps:
      5a4db0c5-0000-4000-8000-000000000102: view
  - name: Okta admins
    external_id: okta-1
    apps:
      Acme shop: view
"
        ),
    );
    let run = |args: &[&str]| {
        rollcall_for_sandbox(ws.dir.path(), "sandbox-secret")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["plan", "team.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = stdout(&out);
    assert!(
        plan.contains("# group \"Blog readers\" will be created")
            && plan
                .contains("- app \"Acme blog\" (5a4db0c5-0000-4000-8000-000000000102) = \"view\""),
        "{plan}"
    );
    let out = run(&["apply", "--auto-approve", "team.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Verified: the account matches the files."),
        "{}",
        stdout(&out)
    );
    for args in [
        &["plan", "--detailed-exitcode", "team.yaml"][..],
        &["export", "target.yaml", "--out", "exported.yaml"],
        &["plan", "--detailed-exitcode", "exported.yaml"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
    let exported = std::fs::read_to_string(ws.path("exported.yaml")).unwrap();
    let _ = sandbox.kill();
    assert!(
        exported.contains(
            "  - name: \"Blog readers\"\n    members: [\"carol@acme.org\"]\n    apps:\n      \"5a4db0c5-0000-4000-8000-000000000102\": view  # Acme blog\n"
        ),
        "{exported}"
    );
    // The identity provider keeps the members of a group with an external id.
    assert!(
        exported.contains(
            "  - name: \"Okta admins\"\n    external_id: \"okta-1\"\n    apps:\n      \"Acme shop\": view\n"
        ),
        "{exported}"
    );
}

#[test]
fn export_then_plan_is_no_changes() {
    let ws = Workspace::new();
    let dir = ws.dir.path();
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    // Change the account first, so the export is not just the seed.
    let out = rollcall_in(dir, &["apply", "--auto-approve", quickstart]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ws.write(
        "target.yaml",
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: sandbox\n",
    );
    let out = rollcall_in(dir, &["export", "target.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let exported = stdout(&out);
    assert!(
        exported.contains(
            "  - email: \"grace@acme.org\"\n    language: \"en-US\"\n    roles: [\"owner\"]\n"
        ),
        "{exported}"
    );
    assert!(
        !exported.contains("bob@acme.org"),
        "deleted users are gone: {exported}"
    );
    ws.write("exported.yaml", &exported);
    let out = rollcall_in(dir, &["validate", "exported.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = rollcall_in(dir, &["plan", "--detailed-exitcode", "exported.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));
}

#[test]
fn the_ci_recipe_parses_and_uses_real_flags() {
    use rollcall::yaml::{Node, Value};
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/ci/github-actions.yml"
    ))
    .unwrap();
    let root = rollcall::yaml::parse(&text)
        .expect("valid YAML")
        .expect("a document");
    fn get<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
        let Value::Map(map) = &node.value else {
            return None;
        };
        map.iter()
            .find(|(k, _)| k.value == Value::Str(key.into()))
            .map(|(_, v)| v)
    }
    fn text_of(node: Option<&Node>) -> &str {
        match node.map(|n| &n.value) {
            Some(Value::Str(s)) => s,
            _ => "",
        }
    }
    let jobs = get(&root, "jobs").expect("jobs");
    let Value::Map(entries) = &jobs.value else {
        panic!("jobs is a mapping")
    };
    let names: Vec<&str> = entries.iter().map(|(k, _)| text_of(Some(k))).collect();
    assert_eq!(
        names,
        ["build", "validate", "plan", "plan-merged", "apply", "drift"]
    );
    let job = |name: &str| get(jobs, name).unwrap();
    let runs = |name: &str| -> Vec<String> {
        let Some(Value::Seq(steps)) = get(job(name), "steps").map(|s| &s.value) else {
            return Vec::new();
        };
        steps
            .iter()
            .map(|step| text_of(get(step, "run")).to_string())
            .collect()
    };
    // Every job has its own permissions and a time limit; the workflow grants none itself.
    assert!(
        matches!(get(&root, "permissions").map(|p| &p.value), Some(Value::Map(m)) if m.is_empty())
    );
    for name in &names {
        assert!(
            get(job(name), "permissions").is_some(),
            "{name}: permissions"
        );
        assert!(
            get(job(name), "timeout-minutes").is_some(),
            "{name}: timeout"
        );
    }
    // The target is pinned for every run.
    assert_eq!(
        text_of(get(get(&root, "env").unwrap(), "ROLLCALL_EXPECT_URL")),
        "https://acme.piwik.pro"
    );
    // Forks validate only: the plan runs for this repository's own pull requests.
    assert!(text_of(get(job("plan"), "if")).contains("head.repo.full_name == github.repository"));
    assert!(
        get(job("validate"), "environment").is_none(),
        "validate needs no secret"
    );
    // What runs on merge is the plan the approver saw: saved in plan-merged, applied as is.
    assert!(
        runs("plan-merged")
            .iter()
            .any(|r| r.contains("--out plan.json"))
    );
    assert!(
        runs("plan-merged")
            .iter()
            .any(|r| r.contains("GITHUB_STEP_SUMMARY"))
    );
    assert!(
        runs("apply")
            .iter()
            .any(|r| r.contains("rollcall --color never apply plan.json --auto-approve")),
        "{:?}",
        runs("apply")
    );
    assert_eq!(text_of(get(job("apply"), "environment")), "production");
    assert_eq!(text_of(get(job("plan"), "environment")), "rollcall-read");
    // Concurrency per job: writes share one group and never cancel; plans one per pull request.
    let concurrency = |name: &str| {
        let c = get(job(name), "concurrency").expect("concurrency");
        (
            text_of(get(c, "group")).to_string(),
            get(c, "cancel-in-progress").map(|v| v.value.clone()),
        )
    };
    assert_eq!(
        concurrency("apply"),
        ("rollcall-acme-write".into(), Some(Value::Bool(false)))
    );
    assert_eq!(concurrency("plan-merged"), concurrency("apply"));
    assert_eq!(
        concurrency("plan"),
        (
            "rollcall-plan-${{ github.event.pull_request.number }}".into(),
            Some(Value::Bool(true))
        )
    );
    assert!(
        get(&root, "concurrency").is_none(),
        "no workflow-wide group"
    );
    // The comment is posted only with a plan to show, and only over this workflow's own.
    let Some(Value::Seq(steps)) = get(job("plan"), "steps").map(|s| &s.value) else {
        panic!("plan steps")
    };
    let comment = steps
        .iter()
        .find(|s| text_of(get(s, "uses")).starts_with("actions/github-script"))
        .expect("the comment step");
    let condition = text_of(get(comment, "if"));
    assert!(
        !condition.contains("'1'") && condition.contains("'0'"),
        "{condition}"
    );
    let script = text_of(get(get(comment, "with").unwrap(), "script"));
    assert!(script.contains("marker.startsWith('<!-- rollcall-plan ')"));
    assert!(script.contains("github-actions[bot]"));
    // The drift job tells drift (2) from an error (1) and a guard (3).
    let drift = runs("drift").join("\n");
    assert!(drift.contains("--detailed-exitcode"));
    assert!(text.contains("steps.drift.outputs.code == '2'"));
    assert!(text.contains("steps.drift.outputs.code == '1' || steps.drift.outputs.code == '3'"));

    // Every rollcall flag the recipe uses exists.
    let mut help = String::new();
    for command in [
        "--help",
        "plan --help",
        "apply --help",
        "validate --help",
        "show --help",
    ] {
        let args: Vec<&str> = command.split(' ').collect();
        help.push_str(&stdout(&rollcall(&args)));
    }
    let mut checked = 0;
    for name in &names {
        for run in runs(name) {
            let Some(at) = run.find("bin/rollcall ") else {
                continue;
            };
            for flag in run[at..].split_whitespace().filter(|w| w.starts_with("--")) {
                checked += 1;
                assert!(
                    help.contains(flag),
                    "the recipe uses `{flag}`, which rollcall does not have: {run}"
                );
            }
        }
    }
    assert!(checked >= 15, "only {checked} flags found in the recipe");
}

#[test]
fn a_saved_plan_is_guarded_again_when_applied() {
    let ws = Workspace::new();
    let dir = ws.dir.path();
    let state = ws.path(".rollcall/sandbox/piwik-pro.json");
    let mut data = rollcall::providers::piwik::sandbox::Data::seed();
    for user in &mut data.users {
        user.role = match user.email.as_str() {
            "ada@acme.org" | "margaret@acme.org" => "OWNER".into(),
            _ => "USER".into(),
        };
    }
    data.write(&state).unwrap();
    ws.write(
        "team.yaml",
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: sandbox\nusers:\n  - email: ada@acme.org\n    roles: [user]\n",
    );
    let out = rollcall_in(dir, &["plan", "team.yaml", "--out", "plan.json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "margaret stays an owner: {}",
        stdout(&out)
    );
    // Margaret, whom the plan does not touch, stops being an owner in the meantime.
    data.users
        .iter_mut()
        .find(|u| u.email == "margaret@acme.org")
        .unwrap()
        .role = "USER".into();
    data.write(&state).unwrap();
    let out = rollcall_in(dir, &["apply", "plan.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("Blocked by the last-owner guard"),
        "{}",
        stdout(&out)
    );
}

/// Runs `rollcall ARGS` on a pseudo-terminal (through util-linux `script`) with `answer` typed in.
fn on_a_terminal(dir: &std::path::Path, args: &str, answer: &str) -> (Option<i32>, String) {
    on_a_terminal_with(dir, args, answer, "dumb")
}

/// [`on_a_terminal`] with `TERM` set to `term`.
fn on_a_terminal_with(
    dir: &std::path::Path,
    args: &str,
    answer: &str,
    term: &str,
) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("{} {args}", env!("CARGO_BIN_EXE_rollcall")),
            "/dev/null",
        ])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", term)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs a command on a pseudo-terminal");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn apply_asks_on_a_terminal_and_only_yes_applies() {
    let ws = Workspace::new();
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    let (code, screen) = on_a_terminal(
        ws.dir.path(),
        &format!("--color never apply {quickstart}"),
        "y\n",
    );
    assert!(screen.contains("Only 'yes' will be accepted"), "{screen}");
    assert!(
        screen.contains("error: apply cancelled; nothing was changed\r\n"),
        "{screen}"
    );
    assert_eq!(code, Some(1));
    assert!(
        !ws.path(".rollcall/sandbox/piwik-pro.json").exists(),
        "nothing was written"
    );

    let (code, screen) = on_a_terminal(
        ws.dir.path(),
        &format!("--color never apply {quickstart}"),
        "yes\n",
    );
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("Apply complete: 6 of 6 actions done, 0 failed, 0 skipped."),
        "{screen}"
    );
}

#[test]
fn the_bedita_example_converges_against_the_built_in_sandbox() {
    let ws = Workspace::new();
    let example =
        example("bedita").replace("url: https://api.magazine.example.com", "url: sandbox");
    ws.write("team.yaml", example);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .args(args)
            .current_dir(ws.dir.path())
            .env_clear()
            .envs(ENV_VARS.iter().copied())
            .output()
            .expect("run rollcall")
    };

    let out = run(&["plan", "--format", "json", "team.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let first = &plan["actions"][0];
    assert_eq!(first["op"], "create-role");
    assert_eq!(first["role"], "photo-desk");
    assert!(first.get("user").is_none(), "a role action names a role");
    assert_eq!(plan["summary"]["create_role"], 1);

    let out = run(&["apply", "--auto-approve", "team.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("role photo-desk: created"), "{text}");
    assert!(
        text.contains("giulia.rossi: granted admin, editor"),
        "{text}"
    );

    let out = run(&["plan", "--detailed-exitcode", "team.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let state = std::fs::read_to_string(ws.path(".rollcall/sandbox/bedita.json")).unwrap();
    assert!(state.contains("\"sara.conti\""));
    assert!(
        !state.contains("editor-pass-1"),
        "only password hashes are kept"
    );
    let journal = std::fs::read_to_string(ws.path(".rollcall/journal.jsonl")).unwrap();
    assert!(journal.contains("\"role\":\"photo-desk\""), "{journal}");
    assert!(!journal.contains("editor-pass-1") && !journal.contains("\"jwt\""));
}

#[test]
fn an_edited_saved_plan_never_runs() {
    let ws = Workspace::new();
    let dir = ws.dir.path();
    let quickstart = example("quickstart");
    ws.write("team.yaml", &quickstart);
    ws.write("private.txt", "TOP-SECRET first line\n");
    let state = ws.path(".rollcall/sandbox/piwik-pro.json");
    rollcall::providers::piwik::sandbox::Data::seed()
        .write(&state)
        .unwrap();
    let before = std::fs::read(&state).unwrap();
    let out = rollcall_in(dir, &["plan", "team.yaml", "--out", "plan.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("plan.json")).unwrap()).unwrap();
    let seed = rollcall::providers::piwik::sandbox::Data::seed();
    let id_of = move |email: &str| {
        seed.users
            .iter()
            .find(|u| u.email == email)
            .unwrap()
            .id
            .clone()
    };
    let update = original["plan"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["op"] == "update")
        .expect("the quickstart updates a user");
    let delete_owner = serde_json::json!({
        "id": 0, "op": "delete", "user": "ada@acme.org", "live_id": id_of("ada@acme.org"),
        "changes": [], "depends_on": []
    });

    let margaret = id_of("margaret@acme.org");
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "a delete of the owner, added",
            Box::new(move |plan| {
                let mut list = vec![delete_owner.clone()];
                for (i, mut a) in plan["plan"]["actions"]
                    .as_array()
                    .unwrap()
                    .clone()
                    .into_iter()
                    .enumerate()
                {
                    a["id"] = (i + 1).into();
                    let deps: Vec<usize> = a["depends_on"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d.as_u64().unwrap() as usize + 1)
                        .collect();
                    a["depends_on"] = deps.into();
                    list.push(a);
                }
                plan["plan"]["actions"] = list.into();
            }),
            "  delete \"ada@acme.org\": in the saved plan, but not in the plan the files and the account give now\n",
        ),
        (
            "an update retargeted to another user's id",
            Box::new(move |plan| {
                plan["plan"]["actions"][update]["live_id"] = margaret.clone().into();
            }),
            "the saved plan has id \"",
        ),
        (
            "an action dropped",
            Box::new(|plan| {
                let list = plan["plan"]["actions"].as_array_mut().unwrap();
                let last = list.len() - 1;
                list.remove(last);
            }),
            ": planned now, but not in the saved plan\n",
        ),
        (
            "a dependency out of range",
            Box::new(|plan| plan["plan"]["actions"][0]["depends_on"] = serde_json::json!([999])),
            "refusing to apply `plan.json`: its action 0 depends on action 999, which does not come before it; the file was not written by rollcall\n",
        ),
        (
            "a dependency cycle",
            Box::new(|plan| plan["plan"]["actions"][0]["depends_on"] = serde_json::json!([1])),
            "its action 0 depends on action 1, which does not come before it",
        ),
        (
            "an id out of place",
            Box::new(|plan| plan["plan"]["actions"][1]["id"] = 7.into()),
            "refusing to apply `plan.json`: its action 1 is numbered 7; the file was not written by rollcall\n",
        ),
        (
            "a format version holding a terminal escape",
            Box::new(|plan| plan["format_version"] = "\u{1b}[2J9".into()),
            "refusing to apply `plan.json`: it was saved in plan format \\e[2J9; this rollcall reads format 2\n",
        ),
        (
            "a target that would end the Markdown comment",
            Box::new(|plan| plan["target"]["url"] = "https://acme.piwik.pro/-->\n<b>".into()),
            "refusing to apply `plan.json`: its target is not one rollcall writes; the file was not written by rollcall\n",
        ),
        (
            "another file named",
            Box::new(|plan| plan["files"][0]["path"] = "private.txt".into()),
            "refusing to apply `plan.json`: the files changed since the plan was made (`private.txt`); make a new plan\n",
        ),
    ];
    for (case, edit, expected) in cases {
        let mut plan = original.clone();
        edit(&mut plan);
        ws.write("plan.json", serde_json::to_string_pretty(&plan).unwrap());
        let out = rollcall_in(dir, &["apply", "plan.json", "--auto-approve"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{case}: {err}");
        assert!(err.contains(expected), "{case}: {err}");
        assert!(!err.contains("TOP-SECRET"), "{case}: {err}");
        assert_eq!(stdout(&out), "", "{case}");
        assert_eq!(
            std::fs::read(&state).unwrap(),
            before,
            "{case}: the account changed"
        );
    }

    // A plan too large to be one is not read.
    let huge = std::fs::File::create(ws.path("huge.json")).unwrap();
    huge.set_len(65 << 20).unwrap();
    let out = rollcall_in(dir, &["apply", "huge.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: refusing to apply `huge.json`: it is larger than 64 MiB, more than any plan rollcall saves\n"
    );

    // The plan as saved still applies.
    ws.write(
        "plan.json",
        serde_json::to_string_pretty(&original).unwrap(),
    );
    let out = rollcall_in(dir, &["apply", "plan.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn quiet_prints_only_errors_and_each_commands_summary() {
    let ws = Workspace::new();
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    ws.write("team.yaml", std::fs::read_to_string(quickstart).unwrap());
    let dir = ws.dir.path();
    let run = |args: &[&str]| {
        let out = rollcall_in(dir, args);
        (out.status.code(), stdout(&out), stderr(&out))
    };
    let said = |code, out: &str| (Some(code), out.to_string(), String::new());
    assert_eq!(
        run(&["-q", "plan", "team.yaml", "--out", "plan.json"]),
        said(
            0,
            "Plan: 2 to invite, 1 to change, 1 to delete (6 actions).\n"
        )
    );
    assert_eq!(
        run(&["-q", "apply", "plan.json", "--auto-approve"]),
        said(
            0,
            "Apply complete: 6 of 6 actions done, 0 failed, 0 skipped. Verified: the account matches the files.\n"
        )
    );
    assert_eq!(
        run(&["-q", "plan", "team.yaml"]),
        said(0, "No changes. The account matches the files.\n")
    );
    assert_eq!(
        run(&["-q", "export", "team.yaml", "--out", "out.yaml"]),
        said(0, "Wrote 6 users to `out.yaml`.\n")
    );
    assert_eq!(
        run(&["-q", "apply", "team.yaml", "--auto-approve"]),
        said(0, "No changes. The account matches the files.\n")
    );
    let (code, out, err) = run(&["-q", "plan", "missing.yaml"]);
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert!(
        err.starts_with("error: cannot read `missing.yaml`"),
        "{err}"
    );
}

#[test]
fn very_verbose_logs_requests_for_every_command_that_makes_them() {
    let ws = Workspace::new();
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    ws.write("team.yaml", std::fs::read_to_string(quickstart).unwrap());
    for (args, method) in [
        (&["-vv", "apply", "team.yaml", "--auto-approve"][..], "POST"),
        (
            &["-vv", "export", "team.yaml", "--out", "out.yaml"][..],
            "GET",
        ),
        (&["-vv", "validate", "team.yaml"][..], ""),
    ] {
        let out = rollcall_in(ws.dir.path(), args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let requests: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("DEBUG ") && l.contains(" ms "))
            .collect();
        for line in &requests {
            let words: Vec<&str> = line.split(' ').collect();
            assert_eq!(words.len(), 7, "{args:?}: {line}");
            assert_eq!(words[6].len(), 36, "{args:?}: a request id in {line}");
        }
        if method.is_empty() {
            assert!(requests.is_empty(), "{args:?} needs no network: {err}");
        } else {
            assert!(
                requests
                    .iter()
                    .any(|l| l.starts_with(&format!("DEBUG {method} "))),
                "{args:?}: {err}"
            );
        }
        assert!(
            !err.contains("sandbox-secret") && !err.contains("Bearer"),
            "{err}"
        );
    }
}

#[test]
fn very_verbose_logs_one_line_per_request_and_no_secret() {
    let ws = Workspace::new();
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    ws.write("team.yaml", std::fs::read_to_string(quickstart).unwrap());
    let out = rollcall_in(ws.dir.path(), &["-vv", "plan", "team.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let requests: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("DEBUG ") && l.contains(" ms "))
        .collect();
    let mut shapes: Vec<String> = requests
        .iter()
        .map(|l| {
            let words: Vec<&str> = l.split(' ').collect();
            assert_eq!(words.len(), 7, "{l}");
            assert!(words[4].parse::<u64>().is_ok(), "{l}");
            assert_eq!(words[6].len(), 36, "a request id: {l}");
            words[1..4].join(" ")
        })
        .collect();
    // The list and the signed-in user are read at once, so they may end in either order.
    shapes.sort();
    assert_eq!(
        shapes,
        [
            "GET /api/users/v2 200",
            "GET /api/users/v2/me 200",
            "POST /auth/token 200"
        ]
    );
    assert!(
        !err.contains("sandbox-secret") && !err.contains("Bearer"),
        "{err}"
    );
}

#[test]
fn colour_follows_clicolor_force_no_color_and_a_dumb_terminal() {
    let ws = Workspace::new();
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    ws.write("team.yaml", std::fs::read_to_string(quickstart).unwrap());
    let dir = ws.dir.path();
    let plan = |vars: &[(&str, &str)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .args(["plan", "team.yaml"])
            .current_dir(dir)
            .env_clear()
            .envs(vars.iter().copied())
            .output()
            .expect("run rollcall");
        stdout(&out)
    };
    // A colour is an SGR sequence, `ESC [ digits m`; a bar's cursor moves are not colour.
    let coloured = |text: &str| {
        text.split("\u{1b}[").skip(1).any(|rest| {
            let code: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == ';')
                .collect();
            rest[code.len()..].starts_with('m')
        })
    };
    assert!(!coloured(&plan(&[])), "not a terminal");
    assert!(coloured(&plan(&[("CLICOLOR_FORCE", "1")])));
    assert!(!coloured(&plan(&[
        ("CLICOLOR_FORCE", "1"),
        ("NO_COLOR", "1")
    ])));
    let (_, screen) = on_a_terminal_with(dir, "plan team.yaml", "", "xterm-256color");
    assert!(coloured(&screen), "{screen}");
    let (_, screen) = on_a_terminal_with(dir, "plan team.yaml", "", "dumb");
    assert!(!coloured(&screen), "{screen}");
    let (_, screen) = on_a_terminal_with(dir, "--color never plan team.yaml", "", "xterm");
    assert!(!coloured(&screen), "{screen}");
}

#[test]
fn a_first_ctrl_c_lets_running_actions_finish_and_a_second_is_not_needed() {
    use std::io::{BufRead, BufReader};
    let (mut sandbox, url) = sandbox_process::start(
        env!("CARGO_BIN_EXE_rollcall"),
        "piwik-pro",
        &["--port", "0", "--latency-ms", "150"],
    );
    let ws = Workspace::new();
    let mut text = format!(
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: {url}\n  credentials:\n    client_id: ${{ID}}\n    client_secret: ${{SECRET}}\nusers:\n"
    );
    for n in 0..12 {
        text.push_str(&format!("  - email: new{n}@acme.org\n"));
    }
    ws.write("team.yaml", text);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["apply", "team.yaml", "--auto-approve", "--parallelism", "1"])
        .current_dir(ws.dir.path())
        .env_clear()
        .env("ID", "sandbox-client")
        .env("SECRET", "sandbox-secret")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run rollcall");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // Wait for the first invite to be reported, then interrupt.
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("a line");
        let first = line.ends_with(": invited");
        seen.push(line);
        if first {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    seen.extend(lines.map(|l| l.expect("a line")));
    let out = child.wait_with_output().expect("rollcall ends");
    let _ = sandbox.kill();
    assert_eq!(out.status.code(), Some(130), "{seen:?}");
    let summary = seen.last().expect("a summary").clone();
    let invited = seen.iter().filter(|l| l.ends_with(": invited")).count();
    assert!((1..12).contains(&invited), "{seen:?}");
    assert_eq!(
        summary,
        format!(
            "Apply interrupted: {invited} of 12 actions done, 0 failed, 0 skipped, {} not started.",
            12 - invited
        )
    );
    let err = stderr(&out);
    assert!(
        err.contains("warning: interrupted: no new action starts, the running ones finish"),
        "{err}"
    );
    // Every action is journaled: the ones done, and the ones that never started.
    let journal = std::fs::read_to_string(ws.path(".rollcall/journal.jsonl")).expect("a journal");
    let actions: Vec<&str> = journal
        .lines()
        .filter(|l| l.contains("\"event\":\"action\""))
        .collect();
    assert_eq!(actions.len(), 12, "{journal}");
    assert_eq!(
        actions
            .iter()
            .filter(|l| l.contains("\"status\":\"done\""))
            .count(),
        invited
    );
}

#[test]
fn apply_reads_the_account_back_and_names_a_write_that_did_not_take() {
    use rollcall::providers::bedita::sandbox::{Data, SEED_API_KEY, User};
    let ws = Workspace::new();
    let mut data = Data::seed();
    data.next_id = 50;
    data.users.push(User {
        id: 40,
        username: "kai".into(),
        email: None,
        name: None,
        surname: None,
        lang: None,
        status: "on".into(),
        password_hash: None,
        roles: Vec::new(),
        deleted: false,
        blocked: true,
        created: 1_700_000_000,
        modified: 1_700_000_000,
    });
    let state = ws.path("state.json");
    data.write(&state).unwrap();
    let (mut sandbox, url) = sandbox_process::start(
        env!("CARGO_BIN_EXE_rollcall"),
        "bedita",
        &[
            "--port",
            "0",
            "--state",
            state.to_str().unwrap(),
            "--variant",
            "blocked-ignored",
        ],
    );
    ws.write(
        "team.yaml",
        format!(
            "version: 1\ntarget:\n  provider: bedita\n  url: {url}\n  credentials:\n    api_key: ${{KEY}}\n    username: ${{WHO}}\n    password: ${{PASSWORD}}\nusers:\n  - username: kai\n"
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["apply", "team.yaml", "--auto-approve"])
        .current_dir(ws.dir.path())
        .env_clear()
        .env("KEY", SEED_API_KEY)
        .env("WHO", "bedita")
        .env("PASSWORD", "bedita")
        .output()
        .expect("run rollcall");
    let _ = sandbox.kill();
    let (out_text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(4), "{out_text}{err}");
    // The service said yes; reading it back says otherwise, and the user is told which.
    assert!(out_text.contains("kai: reactivated\n"), "{out_text}");
    assert_eq!(
        err,
        "error: kai: reactivated, but BEdita still shows it otherwise: state \"deactivated\" -> \"active\"\n"
    );
    assert!(
        out_text.ends_with(
            "Apply complete: 1 of 1 action done, 0 failed, 0 skipped. Not verified: the account still differs from the files (0 to create, 0 to change, 1 to reactivate, 0 to delete (1 action)).\n"
        ),
        "{out_text}"
    );
    let journal = std::fs::read_to_string(ws.path(".rollcall/journal.jsonl")).unwrap();
    assert!(
        journal.lines().any(|l| l.contains("\"event\":\"verify\"")
            && l.contains("\"status\":\"not visible\"")
            && l.contains("\"user\":\"kai\"")),
        "{journal}"
    );
}

#[test]
fn a_difference_rollcall_cannot_change_is_still_drift() {
    let ws = Workspace::new();
    // The seed's lapsed reader is deactivated with 2 sessions; the file wants 3, which
    // Publica.la cannot set on a deactivated user.
    ws.write(
        "team.yaml",
        "version: 1\ntarget:\n  provider: publica-la\n  url: sandbox\nusers:\n  - external_id: \"10032\"\n    email: carmen.vidal@example.org\n    state: deactivated\n    sessions_limit: 3\n",
    );
    let out = rollcall_in(ws.dir.path(), &["plan", "team.yaml", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "No changes rollcall can make. The account still differs from the files in 1 way it cannot change.\nDifferences rollcall cannot change:\n  - 10032: sessions_limit \"2\" -> \"3\" (Publica.la cannot change a deactivated user)\n"
        ),
        "{text}"
    );
    let out = rollcall_in(ws.dir.path(), &["plan", "team.yaml", "--expect-no-changes"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: the account has drifted from the files: 1 difference rollcall cannot change\n"
    );
}

#[test]
fn no_provider_follows_the_sandboxs_redirect_variant() {
    use rollcall::providers::bedita::sandbox::SEED_API_KEY;
    for (provider, credentials) in [
        (
            "piwik-pro",
            "    client_id: ${A}\n    client_secret: ${B}\n",
        ),
        ("publica-la", "    api_token: ${A}\n"),
        (
            "bedita",
            "    api_key: ${A}\n    username: ${B}\n    password: ${B}\n",
        ),
    ] {
        let (mut sandbox, url) = sandbox_process::start(
            env!("CARGO_BIN_EXE_rollcall"),
            provider,
            &["--port", "0", "--variant", "redirect"],
        );
        let ws = Workspace::new();
        ws.write(
            "team.yaml",
            format!(
                "version: 1\ntarget:\n  provider: {provider}\n  url: {url}\n  credentials:\n{credentials}"
            ),
        );
        let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .args(["plan", "team.yaml"])
            .current_dir(ws.dir.path())
            .env_clear()
            .env("A", SEED_API_KEY)
            .env("B", "bedita")
            .output()
            .expect("run rollcall");
        let _ = sandbox.kill();
        assert_eq!(out.status.code(), Some(1), "{provider}");
        let err = stderr(&out);
        assert!(
            err.contains(
                "the service answered 307 to http://127.0.0.2:9; rollcall never follows redirects with credentials. Point `url` at the final address"
            ),
            "{provider}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{provider}: {err}");
    }
}

#[test]
fn progress_is_drawn_on_a_terminal_only() {
    let ws = Workspace::new();
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    ws.write("team.yaml", std::fs::read_to_string(quickstart).unwrap());
    let (code, screen) = on_a_terminal_with(
        ws.dir.path(),
        "--color never apply team.yaml --auto-approve",
        "",
        "xterm",
    );
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Applying"), "{screen}");
    // Not a terminal: no bar, no spinner, nothing but the output itself.
    let fresh = Workspace::new();
    fresh.write("team.yaml", std::fs::read_to_string(quickstart).unwrap());
    let out = rollcall_in(fresh.dir.path(), &["apply", "team.yaml", "--auto-approve"]);
    assert!(
        stdout(&out).contains("grace@acme.org: invited\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(stderr(&out), "");
    assert!(!stdout(&out).contains("Applying"));
}

#[test]
fn a_saved_plan_binds_users_found_by_email_too() {
    use rollcall::providers::publica::sandbox::Data;
    let ws = Workspace::new();
    let dir = ws.dir.path();
    let state = ws.path(".rollcall/sandbox/publica-la.json");
    Data::seed().write(&state).unwrap();
    ws.write(
        "store.yaml",
        "version: 1\ntarget:\n  provider: publica-la\n  url: sandbox\nusers:\n  - external_id: \"10041\"\n    email: ana.torres@example.org\n    sessions_limit: 3\n",
    );
    let out = rollcall_in(dir, &["plan", "store.yaml", "--out", "plan.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved = std::fs::read_to_string(ws.path("plan.json")).unwrap();
    assert!(
        saved.contains("\"email:ana.torres@example.org\": {"),
        "{saved}"
    );
    // Someone edits the reader by hand before the plan is applied.
    let mut data = Data::read(&state).unwrap();
    data.users
        .iter_mut()
        .find(|u| u.email == "ana.torres@example.org")
        .unwrap()
        .sessions_limit = Some(7);
    data.write(&state).unwrap();
    let out = rollcall_in(dir, &["apply", "plan.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("  ana.torres@example.org: sessions_limit \"2\" -> \"7\"\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn export_says_why_it_cannot_write_a_store_that_hides_external_ids() {
    let ws = Workspace::new();
    ws.write(
        "store.yaml",
        "version: 1\ntarget:\n  provider: publica-la\n  url: sandbox\nusers: []\n",
    );
    let out = rollcall_in(
        ws.dir.path(),
        &["export", "store.yaml", "--out", "out.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: export is not available here: Publica.la has its users' `external_id` hidden (4 of 4 listed without it)\n"
    );
    assert!(!ws.path("out.yaml").exists());
}

/// A pull request from a fork, a pre-commit hook or an editor has no secrets: validate checks
/// every example all the same and lists the variables plan and apply will need, once each.
/// `--strict-env` makes them errors, one per variable however often it is used.
#[test]
fn validate_needs_no_secrets() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .output()
            .unwrap()
    };
    let expected = [
        (
            "bedita",
            "4 variables are not set here: `BEDITA_API_KEY`, `BEDITA_USERNAME`, `BEDITA_PASSWORD`, `EDITOR_INITIAL_PASSWORD`; plan and apply need them",
        ),
        (
            "piwik-pro",
            "2 variables are not set here: `PIWIK_CLIENT_ID`, `PIWIK_CLIENT_SECRET`; plan and apply need them",
        ),
        (
            "publica-la",
            "3 variables are not set here: `PUBLICA_API_TOKEN`, `STAFF_INITIAL_PASSWORD`, `READER_INITIAL_PASSWORD`; plan and apply need them",
        ),
    ];
    for (name, note) in expected {
        let path = format!("examples/{name}.yaml");
        let out = run(&["validate", &path]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stderr(&out), format!("note: {note}\n"));
        assert!(
            stdout(&out).starts_with("valid: 12 users"),
            "{}",
            stdout(&out)
        );
    }
    let out = run(&["validate", "--strict-env", "examples/publica-la.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        errors,
        [
            "error: environment variable `PUBLICA_API_TOKEN` is not set",
            "error: environment variable `STAFF_INITIAL_PASSWORD` is not set (used 2 times; this is the first)",
            "error: environment variable `READER_INITIAL_PASSWORD` is not set (used 8 times; this is the first)",
        ]
    );
}

/// The built-in sandbox signs in with its own credentials: a file whose target is `sandbox`
/// plans with its credential variables unset.
#[test]
fn a_sandbox_target_needs_no_credential_variables() {
    let ws = Workspace::new();
    let example = example("piwik-pro").replace("url: https://acme.piwik.pro", "url: sandbox");
    ws.write("team.yaml", example);
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["plan", "team.yaml"])
        .current_dir(ws.dir.path())
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "Plan: 11 to invite, 0 to change, 0 to delete; 2 groups to create, 1 to change (26 actions).\n"
        ),
        "{}",
        stdout(&out)
    );
}

/// People with access that no file grants are named in every format. Under
/// `policy.unmanaged: report`, or with `--fail-on-unmanaged`, they are drift.
#[test]
fn live_users_in_no_file_are_named_and_can_be_drift() {
    let ws = Workspace::new();
    let dir = ws.dir.path();
    let quickstart = example("quickstart");
    ws.write("team.yaml", quickstart.clone());
    let out = rollcall_in(dir, &["apply", "--auto-approve", "team.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // `ignore`: named, and not drift.
    let out = rollcall_in(dir, &["plan", "--detailed-exitcode", "team.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        "No changes. The account matches the files.\n2 live users are in no file and left alone (`policy.unmanaged: ignore`):\n  - api@acme.org (owner, active)\n  - carol@acme.org (user, active)\n"
    );
    let out = rollcall_in(
        dir,
        &[
            "plan",
            "--detailed-exitcode",
            "--fail-on-unmanaged",
            "team.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));

    // `report`: drift in every format, the owner first.
    ws.write(
        "team.yaml",
        quickstart.replace("users:\n", "policy:\n  unmanaged: report\nusers:\n"),
    );
    let heading = "2 live users in no file, counted as drift";
    for format in ["human", "json", "markdown", "diff"] {
        let out = rollcall_in(
            dir,
            &[
                "plan",
                "--detailed-exitcode",
                "--format",
                format,
                "team.yaml",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{format}: {}", stderr(&out));
        let text = stdout(&out);
        match format {
            "json" => {
                let json: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(json["unmanaged_drift"], true);
                assert_eq!(
                    json["unmanaged"],
                    serde_json::json!([
                        { "user": "api@acme.org", "role": "owner", "admin": true, "state": "active" },
                        { "user": "carol@acme.org", "role": "user", "admin": false, "state": "active" },
                    ])
                );
            }
            "markdown" => {
                assert!(text.contains("| ⚠️ users in no file |"), "{text}");
                let owner = text.find("**⚠️ 1 owner or admin in no file**\n\n- `api@acme.org` (`owner, active`)\n").expect(&text);
                let rest = text.find("**1 live user in no file, counted as drift**\n\n- `carol@acme.org` (`user, active`)\n").expect(&text);
                assert!(owner < rest);
            }
            "diff" => assert_eq!(
                text,
                format!("# {heading}:\n#   - api@acme.org (owner, active)\n#   - carol@acme.org (user, active)\n")
            ),
            _ => assert!(
                text.ends_with(&format!("{heading}:\n  - api@acme.org (owner, active)\n  - carol@acme.org (user, active)\n")),
                "{text}"
            ),
        }
    }
}

/// A saved plan is shown again in any format without the account, and is known by its content
/// whatever its name: `apply` carries out `p.plan`, and `plan`/`validate` say what it is.
#[test]
fn a_saved_plan_is_shown_in_every_format_and_known_by_its_content() {
    let ws = Workspace::new();
    let dir = ws.dir.path();
    ws.write("team.yaml", example("quickstart"));
    let fresh = |format: &str| {
        let out = rollcall_in(dir, &["plan", "team.yaml", "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        // A saved plan names the sandbox without the path of its state.
        stdout(&out).replace(" (.rollcall/sandbox/piwik-pro.json)", "")
    };
    let out = rollcall_in(dir, &["plan", "team.yaml", "--out", "p.plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let state = ws.path(".rollcall/sandbox/piwik-pro.json");
    let before = std::fs::read(&state).ok();
    for format in ["human", "json", "diff"] {
        let out = rollcall_in(dir, &["show", "p.plan", "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        assert_eq!(stdout(&out), fresh(format), "{format}");
    }
    // The Markdown carries the saved plan's checksum, as `plan --out` printed it.
    let out = rollcall_in(
        dir,
        &[
            "plan",
            "team.yaml",
            "--out",
            "p.plan",
            "--format",
            "markdown",
        ],
    );
    let markdown = stdout(&out).replace(" (.rollcall/sandbox/piwik-pro.json)", "");
    let out = rollcall_in(dir, &["show", "p.plan", "--format", "markdown"]);
    assert_eq!(stdout(&out), markdown);
    assert!(markdown.contains("Saved plan: `sha256:"), "{markdown}");
    assert_eq!(std::fs::read(&state).ok(), before, "show changes nothing");

    for command in ["plan", "validate"] {
        let out = rollcall_in(dir, &[command, "p.plan"]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr(&out),
            "error: `p.plan` is a saved plan, not desired state: `rollcall apply p.plan` carries it out, `rollcall show p.plan` shows it\n"
        );
    }
    let out = rollcall_in(dir, &["show", "team.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: cannot show `team.yaml`: it is not a plan saved by `rollcall plan --out`\n"
    );
    let out = rollcall_in(dir, &["apply", "p.plan", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Apply complete: 6 of 6 actions done"));
}

/// `--expect-url` (or `ROLLCALL_EXPECT_URL`) pins the target: a pull request that points `url`
/// elsewhere is refused before any request, so it never receives the credentials.
#[test]
fn a_target_other_than_the_expected_one_is_refused_before_any_request() {
    let ws = Workspace::new();
    let dir = ws.dir.path();
    // Nothing listens there: a request would fail with a connection error instead.
    let moved = format!("{PIWIK_HEAD}users: []\n")
        .replace("url: https://acme.piwik.pro", "url: http://127.0.0.1:9");
    ws.write("team.yaml", moved);
    let expected = "error: the files' target is `http://127.0.0.1:9`, not `https://acme.piwik.pro` as `--expect-url` (or `ROLLCALL_EXPECT_URL`) requires; nothing was sent\n";
    let run = |args: &[&str], url: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rollcall"));
        command
            .args(args)
            .current_dir(dir)
            .env_clear()
            .envs(ENV_VARS.iter().copied());
        if let Some(url) = url {
            command.env("ROLLCALL_EXPECT_URL", url);
        }
        command.output().unwrap()
    };
    for command in ["plan", "apply"] {
        let out = run(
            &[
                command,
                "team.yaml",
                "--expect-url",
                "https://acme.piwik.pro",
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(1), "{command}");
        assert_eq!(stderr(&out), expected, "{command}");
        let out = run(&[command, "team.yaml"], Some("https://acme.piwik.pro/"));
        assert_eq!(out.status.code(), Some(1), "{command}");
        assert_eq!(stderr(&out), expected, "{command}");
    }
    // The expected target goes ahead.
    ws.write("team.yaml", example("quickstart"));
    let out = run(&["plan", "team.yaml"], Some("sandbox"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The smaller traps of a GitOps repository: overlapping globs, an undefined alias, a scope that
/// matches no one, an export over an existing file, and a journal that says when and from which
/// commit.
#[test]
fn small_traps_are_said_plainly() {
    let ws = Workspace::new();
    let dir = ws.dir.path();
    ws.write("team.yaml", example("quickstart"));
    // The same file twice, as overlapping globs give it: read once.
    let out = rollcall_in(dir, &["validate", "team.yaml", "./team.yaml", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "valid: 5 users in 1 file for piwik-pro at the built-in sandbox\n"
    );

    ws.write("alias/team.yaml", "version: 1\nusers: *everyone\n");
    let out = rollcall_in(dir, &["validate", "alias/team.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(
            "error: the YAML refers to an anchor (`*name`) that is not defined before it\n  --> alias/team.yaml:2:8\n"
        ),
        "{}",
        stderr(&out)
    );

    let out = rollcall_in(dir, &["plan", "team.yaml", "--target-user", "adda@*"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: `--target-user adda@*` matches no user in the files or the account; nothing was planned\n"
    );

    ws.write("out.yaml", "keep me\n");
    let out = rollcall_in(dir, &["export", "team.yaml", "--out", "out.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: `out.yaml` exists; export never replaces a file unless `--force` is given\n"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path("out.yaml")).unwrap(),
        "keep me\n"
    );
    let out = rollcall_in(
        dir,
        &["export", "team.yaml", "--out", "out.yaml", "--force"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(ws.path("out.yaml"))
            .unwrap()
            .starts_with("# ")
    );

    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["apply", "--auto-approve", "team.yaml"])
        .current_dir(dir)
        .env_clear()
        .env("GITHUB_SHA", "4b825dc642cb6eb9a060e54bf8d69288fbee4904")
        .env("GITHUB_RUN_ID", "1234567")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let journal = std::fs::read_to_string(ws.path(".rollcall/journal.jsonl")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    let time = entry["time"].as_str().unwrap();
    assert!(
        time.len() == 24 && time.ends_with('Z') && &time[10..11] == "T",
        "{time}"
    );
    assert_eq!(entry["rollcall"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        entry["ci"],
        serde_json::json!({ "commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "run": "1234567" })
    );
}
