//! The command line: argument types, global options, and dispatch to one file per command.

mod completions;
mod schema;
mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, documented in the README and never changed.
pub mod exit {
    /// Success, or no changes.
    pub const OK: u8 = 0;
    /// An error: bad input, a failed call, a usage mistake.
    pub const ERROR: u8 = 1;
}

const ABOUT: &str = "Declarative user provisioning: keep the people in your SaaS accounts in Git.";

const LONG_ABOUT: &str = "\
Declarative user provisioning: keep the people in your SaaS accounts in Git.

YAML desired-state files say who should have an account on Piwik PRO, Publica.la or BEdita, with
which language, plan and roles. rollcall checks them and reconciles the live account with them.";

const EXAMPLES: &str = "\
Examples:
  rollcall validate examples/piwik-pro.yaml      Check one file
  rollcall validate accounts/acme/               Check every *.yaml under a directory
  rollcall schema > schema.json                  Print the JSON Schema of the file format
  rollcall completions bash > ~/.local/share/bash-completion/completions/rollcall";

/// rollcall's command line.
#[derive(Debug, Parser)]
#[command(name = "rollcall", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to use colour: on a terminal (`auto`), `always` or `never`. `NO_COLOR` turns `auto` off.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// More log output on stderr (`-v` info, `-vv` debug, `-vvv` trace). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check desired-state files and report every problem, with its file, line and column.
    #[command(after_help = validate::EXAMPLES)]
    Validate(ValidateArgs),
    /// Print the JSON Schema of the desired-state file format.
    #[command(after_help = schema::EXAMPLES)]
    Schema,
    /// Print a shell completion script.
    #[command(after_help = completions::EXAMPLES)]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files or directories (searched for *.yaml and *.yml) that together describe one account.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Where output goes, and whether it is coloured. Decided once, at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub color_stdout: bool,
    pub color_stderr: bool,
    pub quiet: bool,
}

impl Output {
    pub fn new(global: &GlobalArgs) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |terminal: bool| match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        };
        Output {
            color_stdout: decide(std::io::stdout().is_terminal()),
            color_stderr: decide(std::io::stderr().is_terminal()),
            quiet: global.quiet,
        }
    }
}

/// Parses the command line and runs the command, returning the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let output = Output::new(&cli.global);
    init_logging(&cli.global, output.color_stderr);
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args, output),
        Command::Schema => schema::run(),
        Command::Completions(args) => completions::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let prefix = if output.color_stderr {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            };
            eprintln!("{prefix}: {err:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn init_logging(global: &GlobalArgs, color: bool) {
    use tracing_subscriber::EnvFilter;
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("rollcall={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .without_time()
        .try_init();
}
