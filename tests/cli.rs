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
        "valid: 12 users in 1 file for piwik-pro at https://acme.piwik.pro\n"
    );
    assert_eq!(stderr(&out), "");
    let out = rollcall(&["-q", "validate", "examples/quickstart.yaml"]);
    assert_eq!((out.status.code(), stdout(&out)), (Some(0), String::new()));
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
