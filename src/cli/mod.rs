//! The command line: argument types, global options, and dispatch to one file per command.

mod apply;
mod completions;
pub mod export;
mod plan;
pub mod printer;
mod sandbox;
mod schema;
pub mod session;
mod show;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use printer::Printer;

/// Exit codes, documented in the README and never changed.
pub mod exit {
    /// Success, or no changes.
    pub const OK: u8 = 0;
    /// An error: bad input, a failed call, a usage mistake.
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode` found changes.
    pub const CHANGES: u8 = 2;
    /// A guard blocked the plan.
    pub const BLOCKED: u8 = 3;
    /// Apply finished with some actions failed.
    pub const PARTIAL: u8 = 4;
    /// Apply was interrupted with Ctrl-C: the actions already running finished and were
    /// journaled; the rest did not start.
    pub const INTERRUPTED: u8 = 130;
}

const ABOUT: &str = "Declarative user provisioning: keep the people in your SaaS accounts in Git.";

const LONG_ABOUT: &str = "\
Declarative user provisioning: keep the people in your SaaS accounts in Git.

YAML desired-state files say who should have an account on Piwik PRO, Publica.la or BEdita, with
which language, plan and roles. rollcall checks them and reconciles the live account with them.";

const EXAMPLES: &str = "\
Examples:
  rollcall plan examples/quickstart.yaml         What would change, against the built-in sandbox
  rollcall apply examples/quickstart.yaml        Make those changes (asks first)
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
    /// Print only errors and each command's final one-line summary.
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
    /// Show what apply would change: fetch the live users, compare, print the plan.
    #[command(after_help = plan::EXAMPLES)]
    Plan(PlanArgs),
    /// Show the plan, ask for confirmation, and make the changes in dependency order.
    #[command(after_help = apply::EXAMPLES)]
    Apply(ApplyArgs),
    /// Render a plan saved by `plan --out` again, in any format, without the account.
    #[command(after_help = show::EXAMPLES)]
    Show(ShowArgs),
    /// Write the account's live users as a desired-state file, to adopt an existing account.
    #[command(after_help = export::EXAMPLES)]
    Export(ExportArgs),
    /// Run a provider's local simulator over HTTP on 127.0.0.1.
    #[command(after_help = sandbox::EXAMPLES)]
    Sandbox(SandboxArgs),
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
    /// Treat an unset credential or password variable as an error, as plan and apply do.
    #[arg(long)]
    pub strict_env: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Terraform-style text.
    Human,
    /// Versioned JSON for scripts.
    Json,
    /// A pull-request comment.
    Markdown,
    /// A unified diff of each changed user, live against desired.
    Diff,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Files or directories that together describe one account.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Exit 2 when the plan has changes (0 when it has none).
    #[arg(long, conflicts_with = "expect_no_changes")]
    pub detailed_exitcode: bool,
    /// Treat any change as an error (exit 1): for drift checks that must stay quiet.
    #[arg(long)]
    pub expect_no_changes: bool,
    /// Count live users that no file mentions as drift, whatever `policy.unmanaged` says, as
    /// `policy.unmanaged: report` does.
    #[arg(long)]
    pub fail_on_unmanaged: bool,
    /// Also save the plan to this file, for `rollcall apply FILE` to carry out exactly.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The most bytes `--format markdown` writes (a GitHub comment holds 65,536 characters);
    /// what does not fit is counted and left to the saved plan.
    #[arg(long, value_name = "N", default_value_t = crate::render::markdown::COMMENT_LIMIT, value_parser = comment_size())]
    pub max_bytes: usize,
    #[command(flatten)]
    pub planning: PlanningArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved by `rollcall plan --out`.
    #[arg(value_name = "PLAN")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// The most bytes `--format markdown` writes.
    #[arg(long, value_name = "N", default_value_t = crate::render::markdown::COMMENT_LIMIT, value_parser = comment_size())]
    pub max_bytes: usize,
}

/// Options that shape a plan, shared by `plan` and `apply`.
#[derive(Debug, Args)]
pub struct PlanningArgs {
    /// This run may remove up to N users in total: raises the removals guard's cap (from
    /// `policy.max_removals`, or 10 % of live users and at least 5 without it) to N.
    #[arg(long, value_name = "N")]
    pub allow_removals: Option<usize>,
    /// Plan only users matching this pattern (`*` and `?` wildcards); repeatable.
    #[arg(long, value_name = "GLOB")]
    pub target_user: Vec<String>,
    /// Leave out users matching this pattern; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude_user: Vec<String>,
    /// Refuse, before any request, unless the files' target `url` is this one: a pull request
    /// that points `url` elsewhere never receives the credentials.
    #[arg(long, value_name = "URL", env = "ROLLCALL_EXPECT_URL")]
    pub expect_url: Option<String>,
}

impl PlanningArgs {
    /// Refuses files whose target is not the `--expect-url` one.
    pub fn check_target(&self, desired: &crate::model::DesiredState) -> anyhow::Result<()> {
        let Some(expected) = &self.expect_url else {
            return Ok(());
        };
        let actual = desired.target.url.to_string();
        let expected = expected.trim().trim_end_matches('/');
        if actual.trim_end_matches('/') != expected {
            anyhow::bail!(
                "the files' target is `{}`, not `{}` as `--expect-url` (or `ROLLCALL_EXPECT_URL`) requires; nothing was sent",
                crate::escape::visible(&actual),
                crate::escape::visible(expected)
            );
        }
        Ok(())
    }

    pub fn options(&self) -> crate::plan::PlanOptions {
        crate::plan::PlanOptions {
            allow_removals: self.allow_removals,
            target_users: self.target_user.clone(),
            exclude_users: self.exclude_user.clone(),
            fail_on_unmanaged: false,
        }
    }
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Files or directories that together describe one account.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Apply without asking. Required when there is no terminal to ask on.
    #[arg(long)]
    pub auto_approve: bool,
    /// Fix how many API calls run at once (1 to 64). Without it, concurrency adapts to the
    /// service: it grows while answers are fast and halves on 429, 5xx or slow answers, and an
    /// announced rate limit (`X-RateLimit-*`) is never exceeded.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallelism: Option<u16>,
    #[command(flatten)]
    pub planning: PlanningArgs,
    /// Where to append the journal of writes.
    #[arg(long, value_name = "FILE", default_value = ".rollcall/journal.jsonl")]
    pub journal: PathBuf,
    /// Do not read the account back after applying. Verifying costs one more fetch (the list
    /// calls of a plan); skipping it is reasonable only where that fetch is too costly and the
    /// next scheduled plan checks the account anyway.
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Files or directories whose `target` names the account.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write to this file instead of standard output; an existing file is never replaced
    /// unless `--force` is given.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace the `--out` file if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Which API to simulate.
    #[arg(long, value_parser = parse_provider)]
    pub provider: crate::model::vocab::Provider,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// JSON file with the users and API clients to start from (Piwik PRO: also `apps`,
    /// `meta_sites`, `groups` and `grants`).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// JSON file that keeps the users between runs (read at start when it exists, written after
    /// every change).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    pub token_lifetime: u64,
    /// Take one of the readings the API's documentation leaves open (repeatable). Every
    /// provider: `redirect` (every request is answered 307 to another host). Publica.la:
    /// `page-cap=N`, `plans-paginated`, `external-ids-shown`, `plans-append`,
    /// `gone-after-deactivation`, `valid-to-alone`, `no-retry-after`, `deactivated-email-free`.
    /// Piwik PRO:
    /// `page-cap=N` (at most N rows a page), `bare-language-refused` (a language needs a
    /// region), `no-access-listed`, `group-permissions-null`, `group-permissions-empty-list`,
    /// `owner-set-ignored`, `group-json-api-accepted`, `duplicate-group-conflict`,
    /// `members-strict`. BEdita: `no-role-data` (user lists leave out role data), `blocked-ignored`
    /// (lifting a block answers 200 and changes nothing), `page-cap=N`.
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,
    /// Answer 429 with `Retry-After` beyond this many requests per window.
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
    /// The rate limit's window, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1)]
    pub rate_window: u64,
    /// Share of requests (0 to 1) answered 503 without being processed.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_share)]
    pub error_share: f64,
    /// Share of committed writes (0 to 1) whose connection is dropped before the answer.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_share)]
    pub drop_share: f64,
    /// Delay before every answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Seed for the fault dice, to repeat a run.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub fault_seed: u64,
}

fn parse_provider(text: &str) -> Result<crate::model::vocab::Provider, String> {
    use crate::model::vocab::Provider;
    Provider::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
        format!("use one of {}", names.join(", "))
    })
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err("use a number from 0 to 1".into()),
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Parses the command line and runs the command, returning the process exit code.
pub fn main() -> ExitCode {
    session::share_one_heap();
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
    let output = Printer::new(cli.global.color, cli.global.quiet, cli.global.verbose);
    init_logging(&cli.global, output.color_stderr);
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args, output),
        Command::Plan(args) => plan::run(args, output),
        Command::Show(args) => show::run(args, output),
        Command::Apply(args) => apply::run(args, output),
        Command::Export(args) => export::run(args, output),
        Command::Sandbox(args) => sandbox::run(args, output),
        Command::Schema => schema::run(output),
        Command::Completions(args) => completions::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            output.error(format_args!("{err:#}"));
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

/// `--max-bytes`: at least 4 KiB, room for the summary and the notes on what was cut.
fn comment_size() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(4096..)
}
