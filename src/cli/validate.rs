//! `rollcall validate PATH...`: check files and report every problem.

use std::io::Write;

use super::{Output, ValidateArgs, exit};
use crate::desired;
use crate::diagnostic::Renderer;
use crate::model::vocab::TargetUrl;

pub const EXAMPLES: &str = "\
Examples:
  rollcall validate examples/piwik-pro.yaml
  rollcall validate accounts/acme/                 every *.yaml and *.yml below, in sorted order
  rollcall validate team.yaml leavers.yaml         several files describing one account

Credentials are `${ENV_VAR}` references, so the variables they name must be set.
Exit status: 0 when the files are valid, 1 when any problem is found.";

pub fn run(args: &ValidateArgs, output: Output) -> anyhow::Result<u8> {
    let loaded = desired::load(&args.paths, &|name| std::env::var(name).ok());
    match &loaded.result {
        Ok(state) => {
            tracing::info!(
                users = state.users.len(),
                files = state.files,
                "files are valid"
            );
            if !output.quiet {
                let url = match &state.target.url {
                    TargetUrl::Sandbox => "the built-in sandbox".to_string(),
                    TargetUrl::Http(url) => url.clone(),
                };
                let users = plural(state.users.len(), "user");
                let files = plural(state.files, "file");
                writeln!(
                    std::io::stdout(),
                    "valid: {users} in {files} for {} at {url}",
                    state.target.provider
                )?;
            }
            Ok(exit::OK)
        }
        Err(diagnostics) => {
            let renderer = Renderer::new(&loaded.sources, output.color_stderr);
            let mut stderr = std::io::stderr().lock();
            for diagnostic in diagnostics {
                writeln!(stderr, "{}", renderer.render(diagnostic))?;
            }
            let files = diagnostics
                .iter()
                .map(|d| d.source)
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            writeln!(
                stderr,
                "{} found in {}",
                plural(diagnostics.len(), "problem"),
                plural(files, "file")
            )?;
            Ok(exit::ERROR)
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
