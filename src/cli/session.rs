//! What the commands that talk to an account share: loading the files with diagnostics on
//! stderr, and the async runtime.

use std::path::PathBuf;

use anyhow::Context as _;

use super::Printer;
use crate::diagnostic::Renderer;
use crate::model::DesiredState;
use crate::plan::view::plural;

/// Loads `paths`; on problems prints them and returns `None`.
pub fn load(paths: &[PathBuf], output: Printer) -> anyhow::Result<Option<DesiredState>> {
    refuse_saved_plans(paths)?;
    let loaded = crate::desired::load(paths, &|name| std::env::var(name).ok());
    match loaded.result {
        Ok(state) => {
            drop(loaded.sources);
            release_freed_memory();
            Ok(Some(state))
        }
        Err(diagnostics) => {
            let renderer = Renderer::new(&loaded.sources, output.color_stderr);
            for diagnostic in &diagnostics {
                output.report(renderer.render(diagnostic));
            }
            output.report(format_args!(
                "{} found; fix the files and run again (`rollcall validate` checks them).",
                plural(diagnostics.len(), "problem", "problems")
            ));
            Ok(None)
        }
    }
}

/// Hands the memory that loading freed (the files' YAML trees and texts) back to the system: the
/// allocator would otherwise keep it, and the run's peak would count it beside the account's
/// users read after.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns the allocator's own free pages; it takes no pointers
    // and has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Makes every thread allocate from one heap. rollcall runs at most a few threads (the account's
/// I/O, the loader, the YAML reader), and by default the C allocator gives each its own heap:
/// what the loader frees could then not hold the users the account is read into, and a large set
/// of files would count twice against the run's peak. Called first, before any thread starts.
pub fn share_one_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets a tuning parameter of the allocator; it takes no pointers, and
    // no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Refuses a saved plan given where desired state is expected, saying what to do with it.
pub fn refuse_saved_plans(paths: &[PathBuf]) -> anyhow::Result<()> {
    if let Some(path) = paths
        .iter()
        .find(|p| p.is_file() && crate::plan::saved::SavedPlan::recognise(p))
    {
        anyhow::bail!(
            "`{0}` is a saved plan, not desired state: `rollcall apply {0}` carries it out, `rollcall show {0}` shows it",
            path.display()
        );
    }
    Ok(())
}

/// Refuses a `--target-user` that matches no user of the files or the account.
pub fn check_scope(
    session: &crate::session::Session,
    live: &crate::model::LiveState,
    options: &crate::plan::PlanOptions,
) -> anyhow::Result<()> {
    if let Some(pattern) = options.unmatched_targets(&session.desired, live).first() {
        anyhow::bail!(
            "`--target-user {}` matches no user in the files or the account; nothing was planned",
            crate::escape::visible(pattern)
        );
    }
    Ok(())
}

/// Fetches and plans, with a spinner on a terminal counting the reads answered.
pub async fn plan(
    session: &crate::session::Session,
    options: &crate::plan::PlanOptions,
    output: Printer,
) -> anyhow::Result<(crate::model::LiveState, crate::plan::Plan)> {
    let spinner = output.progress(None, "Reading the account");
    let started = crate::providers::http::reads_answered();
    let planning = session.plan(options);
    tokio::pin!(planning);
    loop {
        tokio::select! {
            result = &mut planning => {
                let (live, plan) = result?;
                check_scope(session, &live, options)?;
                return Ok((live, plan));
            }
            () = tokio::time::sleep(std::time::Duration::from_millis(150)) => {
                let reads = crate::providers::http::reads_answered() - started;
                spinner.set_message(format!("Reading the account: {}", crate::plan::view::plural(reads as usize, "read", "reads")));
            }
        }
    }
}

/// A runtime for the commands that talk to an account. One thread: the work is waiting on the
/// network, and the pages a plan reads are decoded where the model they become is kept, so a
/// large account's memory is not spread over one allocator arena per worker. Loading the files
/// still runs beside it, on a thread of its own.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
