//! `rollcall apply PATH...`: show the plan, ask, and carry it out.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;

use super::session;
use super::{ApplyArgs, Printer, exit};
use crate::apply::{self, Outcome};
use crate::escape::visible;
use crate::journal::Journal;
use crate::model::LiveState;
use crate::plan::saved::SavedPlan;
use crate::plan::view::{Subject, View, plural};
use crate::plan::{Plan, PlanOptions};
use crate::render;
use crate::session::Session;

pub const EXAMPLES: &str = "\
Examples:
  rollcall apply examples/quickstart.yaml           asks before changing anything
  rollcall apply accounts/acme/ --auto-approve      in CI, where nobody can answer
  rollcall apply team.yaml --parallelism 2          fixed, instead of adapting to the service
  rollcall apply plan.json                          exactly a plan saved by `plan --out`

Every write is appended to the journal (`.rollcall/journal.jsonl` unless --journal says otherwise).
After the changes the account is read back; --no-verify skips that.
Exit status: 0 success or nothing to do, 1 error, 3 blocked by a guard, 4 finished with some
actions failed or not visible when read back, 130 interrupted by Ctrl-C.";

pub fn run(args: &ApplyArgs, output: Printer) -> anyhow::Result<u8> {
    if let [path] = args.paths.as_slice()
        && (path.extension().is_some_and(|e| e == "json") || SavedPlan::recognise(path))
    {
        return run_saved(path, args, output);
    }
    let Some(desired) = session::load(&args.paths, output)? else {
        return Ok(exit::ERROR);
    };
    args.planning.check_target(&desired)?;
    let journal = open_journal(args)?;
    session::runtime()?.block_on(async {
        let session = Session::connect(desired, Some(journal.clone())).await?;
        let options = args.planning.options();
        let (live, plan) = session::plan(&session, &options, output).await?;
        execute(&session, &plan, &live, &options, args, &journal, output).await
    })
}

/// `apply plan.json`: exactly the saved plan, if nothing it depends on moved. The plan is made
/// again from its files and the live account, and applied only if its actions are the saved ones.
fn run_saved(path: &Path, args: &ApplyArgs, output: Printer) -> anyhow::Result<u8> {
    let refuse = |why: String| anyhow::anyhow!("refusing to apply `{}`: {why}", path.display());
    let (saved, _) = SavedPlan::read(path).map_err(refuse)?;
    saved.check_digests().map_err(refuse)?;
    let paths: Vec<PathBuf> = saved.files.iter().map(|f| f.path.clone()).collect();
    let Some(desired) = session::load(&paths, output)? else {
        return Ok(exit::ERROR);
    };
    args.planning.check_target(&desired)?;
    saved.check_files(&desired).map_err(refuse)?;
    let journal = open_journal(args)?;
    session::runtime()?.block_on(async {
        let session = Session::connect(desired, Some(journal.clone())).await?;
        let (live, plan) = session::plan(&session, &saved.options(), output).await?;
        let moved = saved.drift(&live);
        let differences = saved.differences(&plan);
        if !moved.is_empty() || !differences.is_empty() {
            let (what, lines) = if moved.is_empty() {
                (
                    "it is not the plan its files and the live account give now",
                    differences,
                )
            } else {
                ("these users changed since the plan was made", moved)
            };
            output.error(format_args!(
                "refusing to apply `{}`: {what}:",
                path.display()
            ));
            for line in &lines {
                output.report(format_args!("  {}", visible(line)));
            }
            output.report("Nothing was applied. Make a new plan.");
            return Ok(exit::ERROR);
        }
        execute(
            &session,
            &plan,
            &live,
            &saved.options(),
            args,
            &journal,
            output,
        )
        .await
    })
}

fn open_journal(args: &ApplyArgs) -> anyhow::Result<Journal> {
    Journal::open(&args.journal)
        .with_context(|| format!("cannot open the journal `{}`", args.journal.display()))
}

/// Shows the plan, asks, runs it, and reports.
async fn execute(
    session: &Session,
    plan: &Plan,
    live: &LiveState,
    options: &PlanOptions,
    args: &ApplyArgs,
    journal: &Journal,
    output: Printer,
) -> anyhow::Result<u8> {
    if output.quiet() {
        for blocked in &plan.blocked {
            output.error(format_args!(
                "blocked by the {} guard: {}",
                blocked.guard,
                visible(&blocked.message)
            ));
        }
    } else {
        output.data(&render::human::render(
            plan,
            &session.target,
            output.color_stdout,
        ));
    }
    if !plan.blocked.is_empty() {
        output.report("Nothing was applied.");
        return Ok(exit::BLOCKED);
    }
    if plan.is_empty() {
        if output.quiet() {
            output.summary(render::human::summary(plan, &session.target));
        }
        return Ok(exit::OK);
    }
    if let Some(reason) = session.account.read_only() {
        anyhow::bail!("nothing was applied: {reason}");
    }
    if !args.auto_approve && !confirm(output)? {
        return Ok(exit::ERROR);
    }
    let caps = session.target.provider.capabilities();
    // A first Ctrl-C stops new actions and lets the running ones finish; a second quits at once.
    let stop = Arc::new(AtomicBool::new(false));
    let interrupts = tokio::spawn({
        let stop = stop.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            stop.store(true, Ordering::SeqCst);
            output.warning(
                "interrupted: no new action starts, the running ones finish; press Ctrl-C again to quit at once",
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
        }
    });
    let bar = output.progress(Some(plan.actions.len() as u64), "Applying");
    let mut failures = 0;
    // Adaptive unless `--parallelism` fixes it.
    session.pace.set_fixed(args.parallelism.map(usize::from));
    let report = apply::run_until(
        session.account.clone(),
        plan,
        live,
        apply::Concurrency::Paced(session.pace.clone()),
        Some(journal),
        &stop,
        |id, outcome| {
            let action = &plan.actions[id];
            let verb = Subject::done(action, caps);
            bar.inc();
            if matches!(outcome, Outcome::Failed(_)) {
                failures += 1;
            }
            let (rate, in_flight, _) = session.pace.status();
            bar.set_message(format!(
                "Applying: {rate:.1} requests/s, {in_flight} in flight{}",
                match failures {
                    0 => String::new(),
                    n => format!(", {}", plural(n, "failure", "failures")),
                }
            ));
            bar.suspend(|| match outcome {
                Outcome::Done { adopted } => output.out(format_args!(
                    "{}: {}",
                    visible(&action.subject()),
                    if *adopted {
                        "adopted (already existed)".into()
                    } else {
                        visible(&verb)
                    }
                )),
                Outcome::Failed(err) => output.error(format_args!(
                    "{}: {} failed: {err}",
                    visible(&action.subject()),
                    action.op.name()
                )),
                Outcome::Skipped(because) => output.warning(format_args!(
                    "{}: skipped, because it depends on the failed action for {}",
                    visible(&action.subject()),
                    visible(&plan.actions[*because].subject())
                )),
                Outcome::NotStarted => {}
            })
        },
    )
    .await;
    drop(bar);
    interrupts.abort();
    let interrupted = stop.load(Ordering::SeqCst);
    // Reading back changes nothing, so a Ctrl-C while it runs quits at once.
    let _quit = tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
    });
    output.out("");
    let mut summary = format!(
        "{}: {} of {} done, {} failed, {} skipped{}.",
        if interrupted {
            "Apply interrupted"
        } else {
            "Apply complete"
        },
        report.done(),
        plural(plan.actions.len(), "action", "actions"),
        report.failed(),
        report.skipped(),
        match report.not_started() {
            0 => String::new(),
            n => format!(", {n} not started"),
        }
    );
    if interrupted {
        output.summary(summary);
        return Ok(exit::INTERRUPTED);
    }
    let verified = if args.no_verify {
        true
    } else {
        let (verified, sentence) = verify(session, plan, &report, options, journal, output).await?;
        summary.push(' ');
        summary.push_str(&sentence);
        verified
    };
    output.summary(summary);
    Ok(
        if !verified || report.failed() > 0 || report.not_started() > 0 {
            exit::PARTIAL
        } else {
            exit::OK
        },
    )
}

/// Reads the account back and plans the same scope again. Whatever is still planned did not
/// take: for a subject an action was reported done for, each field the service still shows
/// otherwise is named as an error and journaled. Returns whether the account matches, and the
/// sentence that ends the summary.
async fn verify(
    session: &Session,
    plan: &Plan,
    report: &apply::Report,
    options: &PlanOptions,
    journal: &Journal,
    output: Printer,
) -> anyhow::Result<(bool, String)> {
    let (_, again) = session
        .plan(options)
        .await
        .context("cannot read the account back to verify the apply")?;
    // What a guard stops is what could not be checked (say, access that was not read).
    if let Some(blocked) = again.blocked.first() {
        for blocked in &again.blocked {
            output.error(format_args!(
                "after the apply, the {} guard: {}",
                blocked.guard,
                visible(&blocked.message)
            ));
        }
        return Ok((
            false,
            format!(
                "Not verified: the account could not be compared with the files ({}).",
                visible(&blocked.message)
            ),
        ));
    }
    if again.matches() {
        return Ok((true, "Verified: the account matches the files.".into()));
    }
    if again.is_empty() {
        // Everything planned took; what is left was never in rollcall's power to change.
        return Ok((
            true,
            format!(
                "Verified: every change took; {} rollcall cannot change remain.",
                plural(again.unfixable.len(), "difference", "differences")
            ),
        ));
    }
    let caps = session.target.provider.capabilities();
    let done: Vec<&crate::plan::Action> = report
        .outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Done { .. }))
        .map(|(id, _)| &plan.actions[*id])
        .collect();
    let view = View::new(&again);
    let mut unverified = 0;
    for subject in &view.subjects {
        let claimed: Vec<String> = done
            .iter()
            .filter(|a| a.op.kind() == subject.kind && a.user == subject.key)
            .map(|a| Subject::done(a, caps))
            .collect();
        for row in subject.rows().into_iter().filter(|r| r.attribute != "id") {
            let what = format!("{} {}", row.attribute, row.value);
            let mut entry = serde_json::json!({
                "event": "verify",
                "attribute": row.attribute,
                "status": if claimed.is_empty() { "differs" } else { "not visible" },
            });
            entry[subject.noun()] = subject.key.into();
            journal.write(entry);
            if claimed.is_empty() {
                output.warning(format_args!(
                    "{}: still differs from the files after the apply: {}",
                    visible(subject.name()),
                    visible(&what)
                ));
            } else {
                unverified += 1;
                output.error(format_args!(
                    "{}: {}, but {} still shows it otherwise: {}",
                    visible(subject.name()),
                    visible(&claimed.join(", ")),
                    caps.name,
                    visible(&what)
                ));
            }
        }
    }
    tracing::info!(unverified, "verified the apply");
    Ok((
        false,
        format!(
            "Not verified: the account still differs from the files ({}).",
            view.counts.sentence(caps)
        ),
    ))
}

/// Asks for `yes` on a terminal; refuses when nobody can answer.
fn confirm(output: Printer) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to apply without confirmation: no terminal to ask on. Review the plan and pass `--auto-approve` to apply it"
        );
    }
    let answer =
        output.ask("\nDo you want to perform these actions? Only 'yes' will be accepted: ")?;
    if answer.trim() == "yes" {
        Ok(true)
    } else {
        output.error("apply cancelled; nothing was changed");
        Ok(false)
    }
}
