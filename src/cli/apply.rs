//! `rollcall apply PATH...`: show the plan, ask, and carry it out.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;

use super::session::{self, Session};
use super::{ApplyArgs, Output, exit};
use crate::apply::{self, Outcome, journal::Journal};
use crate::plan::Op;
use crate::render;

pub const EXAMPLES: &str = "\
Examples:
  rollcall apply examples/quickstart.yaml           asks before changing anything
  rollcall apply accounts/acme/ --auto-approve      in CI, where nobody can answer
  rollcall apply team.yaml --parallelism 2          gentler on a rate-limited API

Every write is appended to the journal (`.rollcall/journal.jsonl` unless --journal says otherwise).
Exit status: 0 success or nothing to do, 1 error, 3 blocked by a guard,
4 finished with some actions failed.";

pub fn run(args: &ApplyArgs, output: Output) -> anyhow::Result<u8> {
    let Some(desired) = session::load(&args.paths, output)? else {
        return Ok(exit::ERROR);
    };
    let journal = Journal::open(&args.journal)
        .with_context(|| format!("cannot open the journal `{}`", args.journal.display()))?;
    session::runtime()?.block_on(async {
        let session = Session::connect(desired, Some(journal.clone())).await?;
        let options = args.planning.options();
        let (live, plan) = session.plan(&options).await?;
        let mut stdout = std::io::stdout();
        stdout.write_all(
            render::human::render(&plan, &session.target, output.color_stdout).as_bytes(),
        )?;
        if !plan.blocked.is_empty() {
            eprintln!("Nothing was applied.");
            return Ok(exit::BLOCKED);
        }
        if plan.is_empty() {
            return Ok(exit::OK);
        }
        if !args.auto_approve && !confirm()? {
            return Ok(exit::ERROR);
        }
        let caps = session.target.provider.capabilities();
        let report = apply::run(
            session.account.clone(),
            &plan,
            &live,
            usize::from(args.parallelism),
            Some(&journal),
            |id, outcome| {
                let action = &plan.actions[id];
                let verb = match action.op {
                    Op::Create => caps.create_verb_past.to_string(),
                    Op::Update => "updated".into(),
                    Op::Promote | Op::Demote => {
                        format!("role set to {}", action.after("role").unwrap_or("?"))
                    }
                    Op::Deactivate => "deactivated".into(),
                    Op::Delete => "deleted".into(),
                };
                match outcome {
                    Outcome::Done => println!("{}: {verb}", action.user),
                    Outcome::Failed(err) => {
                        eprintln!("error: {}: {} failed: {err}", action.user, action.op.name())
                    }
                    Outcome::Skipped(because) => eprintln!(
                        "{}: skipped, because it depends on the failed action for {}",
                        action.user, plan.actions[*because].user
                    ),
                }
            },
        )
        .await;
        println!(
            "\nApply complete: {} done, {} failed, {} skipped.",
            report.done(),
            report.failed(),
            report.skipped()
        );
        Ok(if report.failed() > 0 {
            exit::PARTIAL
        } else {
            exit::OK
        })
    })
}

/// Asks for `yes` on a terminal; refuses when nobody can answer.
fn confirm() -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        anyhow::bail!(
            "refusing to apply without confirmation: no terminal to ask on. Review the plan and pass `--auto-approve` to apply it"
        );
    }
    print!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(true)
    } else {
        eprintln!("Apply cancelled; nothing was changed.");
        Ok(false)
    }
}
