//! `rollcall plan PATH...`: show what apply would change.

use std::io::Write;

use super::session::{self, Session};
use super::{Output, PlanArgs, PlanFormat, exit};
use crate::plan::PlanOptions;
use crate::render;

pub const EXAMPLES: &str = "\
Examples:
  rollcall plan examples/quickstart.yaml            against the built-in sandbox, no credentials
  rollcall plan accounts/acme/                      every *.yaml below, as one account
  rollcall plan team.yaml --format json             for scripts
  rollcall plan team.yaml --detailed-exitcode       nightly drift check: exit 2 when anything differs

Exit status: 0 no changes (or changes, without --detailed-exitcode), 1 error,
2 changes present (with --detailed-exitcode), 3 blocked by a guard.";

pub fn run(args: &PlanArgs, output: Output) -> anyhow::Result<u8> {
    let Some(desired) = session::load(&args.paths, output)? else {
        return Ok(exit::ERROR);
    };
    session::runtime()?.block_on(async {
        let session = Session::connect(desired, None).await?;
        let options = PlanOptions {
            allow_removals: args.allow_removals,
        };
        let (_, plan) = session.plan(options).await?;
        let text = match args.format {
            PlanFormat::Human => render::human::render(&plan, &session.target, output.color_stdout),
            PlanFormat::Json => render::json::render(&plan, &session.target),
        };
        std::io::stdout().write_all(text.as_bytes())?;
        Ok(if !plan.blocked.is_empty() {
            exit::BLOCKED
        } else if args.detailed_exitcode && !plan.is_empty() {
            exit::CHANGES
        } else {
            exit::OK
        })
    })
}
