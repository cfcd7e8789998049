//! `rollcall validate PATH...`: check files and report every problem.

use super::{Printer, ValidateArgs, exit};
use crate::desired;
use crate::diagnostic::Renderer;
use crate::model::vocab::TargetUrl;
use crate::plan::view::plural;

pub const EXAMPLES: &str = "\
Examples:
  rollcall validate examples/piwik-pro.yaml
  rollcall validate accounts/acme/                 every *.yaml and *.yml below, in sorted order
  rollcall validate team.yaml leavers.yaml         several files describing one account

Credentials and passwords are `${ENV_VAR}` references. validate needs none of them set: an
unset one is listed in a note, since plan and apply will need it. `--strict-env` makes it an
error, as it is there.
Exit status: 0 when the files are valid, 1 when any problem is found.";

pub fn run(args: &ValidateArgs, output: Printer) -> anyhow::Result<u8> {
    super::session::refuse_saved_plans(&args.paths)?;
    let secrets = if args.strict_env {
        desired::Secrets::Required
    } else {
        desired::Secrets::Optional
    };
    let loaded = desired::load_with(&args.paths, &|name| std::env::var(name).ok(), secrets);
    if !loaded.unset.is_empty() {
        let names: Vec<String> = loaded.unset.iter().map(|v| format!("`{v}`")).collect();
        output.note(format_args!(
            "note: {} not set here: {}; plan and apply need {}",
            match names.len() {
                1 => "1 variable is".to_string(),
                n => format!("{n} variables are"),
            },
            names.join(", "),
            if names.len() == 1 { "it" } else { "them" }
        ));
    }
    match &loaded.result {
        Ok(state) => {
            tracing::info!(
                users = state.users.len(),
                files = state.files,
                "files are valid"
            );
            let url = match &state.target.url {
                TargetUrl::Sandbox => "the built-in sandbox".to_string(),
                TargetUrl::Http(url) => url.clone(),
            };
            let groups = match state.groups.len() {
                0 => String::new(),
                n => format!(" and {}", plural(n, "group", "groups")),
            };
            output.summary(format_args!(
                "valid: {}{groups} in {} for {} at {url}",
                plural(state.users.len(), "user", "users"),
                plural(state.files, "file", "files"),
                state.target.provider
            ));
            Ok(exit::OK)
        }
        Err(diagnostics) => {
            let renderer = Renderer::new(&loaded.sources, output.color_stderr);
            for diagnostic in diagnostics {
                output.report(renderer.render(diagnostic));
            }
            let files = diagnostics
                .iter()
                .map(|d| d.source)
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            output.report(format_args!(
                "{} found in {}",
                plural(diagnostics.len(), "problem", "problems"),
                plural(files, "file", "files")
            ));
            Ok(exit::ERROR)
        }
    }
}
