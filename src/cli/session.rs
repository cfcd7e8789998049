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
    let loaded = crate::desired::load(paths, &|name| std::env::var(name).ok());
    match loaded.result {
        Ok(state) => Ok(Some(state)),
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

/// A runtime for the commands that talk to an account.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
