//! `rollcall plan PATH...`: show what apply would change.

use std::path::Path;

use anyhow::Context as _;

use super::session;
use super::{PlanArgs, PlanFormat, Printer, exit};
use crate::model::vocab::{Provider, TargetUrl};
use crate::plan::saved::SavedPlan;
use crate::render;
use crate::session::Session;

/// Writes a saved plan and returns its checksum.
fn save(path: &Path, saved: &SavedPlan) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(saved)?;
    text.push('\n');
    std::fs::write(path, &text)
        .with_context(|| format!("cannot write the plan to `{}`", path.display()))?;
    Ok(crate::desired::load::sha256(text.as_bytes()))
}

pub const EXAMPLES: &str = "\
Examples:
  rollcall plan examples/quickstart.yaml            against the built-in sandbox, no credentials
  rollcall plan accounts/acme/                      every *.yaml below, as one account
  rollcall plan team.yaml --format json             for scripts
  rollcall plan team.yaml --out plan.json           save it; `rollcall apply plan.json` does exactly it
  rollcall plan team.yaml --format markdown         a pull-request comment
  rollcall plan team.yaml --format diff             each changed user, live against desired
  rollcall plan team.yaml --detailed-exitcode       nightly drift check: exit 2 when anything differs
  rollcall plan team.yaml --expect-no-changes       any difference is an error (exit 1)
  rollcall plan team.yaml --target-user '*@sales.acme.org'   only part of the account

Exit status: 0 no changes (or changes, without --detailed-exitcode), 1 error,
2 changes present (with --detailed-exitcode), 3 blocked by a guard.";

pub fn run(args: &PlanArgs, output: Printer) -> anyhow::Result<u8> {
    session::refuse_saved_plans(&args.paths)?;
    // Where the files' target can be read ahead, the account is read while the users decode.
    let hint =
        crate::desired::target_hint(&args.paths, &|name| std::env::var(name).ok()).filter(|hint| {
            // Not the built-in sandbox (nothing to wait for) nor Publica.la (whose reads depend
            // on the plans the files name), and never a target the run may not reach.
            hint.target.url != TargetUrl::Sandbox
                && hint.target.provider != Provider::PublicaLa
                && args.planning.check_target(hint).is_ok()
        });
    session::runtime()?.block_on(async {
        let paths = args.paths.clone();
        let loading = tokio::task::spawn_blocking(move || session::load(&paths, output));
        let early = tokio::spawn(async move {
            let session = Session::connect(hint?, None).await.ok()?;
            let live = session.fetch().await.ok()?;
            Some((session, live))
        });
        // Files with problems, or for another target, do not wait for the early read.
        let loaded = match loading.await {
            Ok(Ok(Some(desired))) => args.planning.check_target(&desired).map(|()| desired),
            Ok(Ok(None)) => {
                early.abort();
                return Ok(exit::ERROR);
            }
            Ok(Err(err)) => Err(err),
            Err(err) => Err(anyhow::Error::new(err).context("loading the files stopped")),
        };
        let desired = match loaded {
            Ok(desired) => desired,
            Err(err) => {
                early.abort();
                return Err(err);
            }
        };
        let early = early.await.ok().flatten();
        let mut options = args.planning.options();
        options.fail_on_unmanaged = args.fail_on_unmanaged;
        // The early read counts only if the files' target is the one it read.
        let (session, live, plan) = match early {
            Some((mut session, mut live)) if session.reaches(&desired.target) => {
                session.desired = desired;
                // The early read knew the target only: the access the files manage is read now.
                live.access = session.fetch_access().await?;
                let (live, plan) = session.plan_with(live, &options)?;
                session::check_scope(&session, &live, &options)?;
                (session, live, plan)
            }
            _ => {
                let session = Session::connect(desired, None).await?;
                let (live, plan) = session::plan(&session, &options, output).await?;
                (session, live, plan)
            }
        };
        let checksum = match &args.out {
            Some(path) => Some(save(path, &SavedPlan::new(&session.desired, &live, &plan, &options))?),
            None => None,
        };
        let text = match args.format {
            PlanFormat::Human => render::human::render(&plan, &session.target, output.color_stdout),
            PlanFormat::Json => render::json::render(&plan, &session.target),
            PlanFormat::Markdown => {
                render::markdown::render_within(
                    &plan,
                    &session.target,
                    checksum.as_deref(),
                    args.max_bytes,
                )
            }
            PlanFormat::Diff => render::diff::render(&plan, &live),
        };
        // Under `-q` the human plan is its one-line summary; the other formats are data.
        match args.format {
            PlanFormat::Human if output.quiet() => {
                output.summary(render::human::summary(&plan, &session.target));
            }
            _ => output.data(&text),
        }
        if let (Some(path), Some(checksum)) = (&args.out, &checksum) {
            output.note(format_args!(
                "Saved the plan to `{}` ({checksum}). Apply exactly this plan with `rollcall apply {}`.",
                path.display(),
                path.display()
            ));
        }
        for blocked in plan.blocked.iter().filter(|_| output.quiet()) {
            output.error(format_args!(
                "blocked by the {} guard: {}",
                blocked.guard,
                crate::escape::visible(&blocked.message)
            ));
        }
        let code = if !plan.blocked.is_empty() {
            exit::BLOCKED
        } else if args.expect_no_changes && !plan.matches() {
            output.error(format_args!(
                "the account has drifted from the files: {}",
                if plan.is_empty() {
                    format!(
                        "{} rollcall cannot change",
                        crate::plan::view::plural(plan.unfixable.len(), "difference", "differences")
                    )
                } else {
                    crate::plan::view::View::new(&plan)
                        .counts
                        .sentence(session.target.provider.capabilities())
                }
            ));
            exit::ERROR
        } else if args.detailed_exitcode && plan.drifted() {
            exit::CHANGES
        } else {
            exit::OK
        };
        // The process ends next: freeing a large account's users one by one would only delay it.
        std::mem::forget((live, plan, text, session.desired));
        Ok(code)
    })
}
