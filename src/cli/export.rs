//! `rollcall export PATH...`: write an account's live users as a desired-state file, the way to
//! adopt an existing account.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Context as _;

use super::session::{self, Session};
use super::{ExportArgs, Output, exit};
use crate::desired::format::TargetUrl;
use crate::model::{DesiredState, LiveState};

pub const EXAMPLES: &str = "\
Examples:
  rollcall export target.yaml > team.yaml          the users of the account target.yaml names
  rollcall export target.yaml --out team.yaml
  rollcall plan team.yaml                          No changes: the file matches the account

The file holds the target (credentials stay `${ENV_VAR}` references) and every live user.";

pub fn run(args: &ExportArgs, output: Output) -> anyhow::Result<u8> {
    let Some(desired) = session::load(&args.paths, output)? else {
        return Ok(exit::ERROR);
    };
    if desired.target.provider != crate::desired::format::Provider::PiwikPro {
        anyhow::bail!(
            "export is available for Piwik PRO only so far: {} does not list every user's natural key",
            desired.target.provider.capabilities().name
        );
    }
    session::runtime()?.block_on(async {
        let session = Session::connect(desired, None).await?;
        let live = session.fetch().await?;
        let text = render(&session.desired, &live);
        match &args.out {
            Some(path) => {
                std::fs::write(path, &text)
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
                eprintln!("Wrote {} users to `{}`.", live.users.len(), path.display());
            }
            None => std::io::stdout().write_all(text.as_bytes())?,
        }
        Ok(exit::OK)
    })
}

/// A JSON string is a valid YAML double-quoted scalar, so every value is written that way.
fn quote(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The desired-state file that matches `live` exactly.
pub fn render(desired: &DesiredState, live: &LiveState) -> String {
    let target = &desired.target;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The users of {} {}, exported by rollcall.",
        target.provider, target.url
    );
    out.push_str("version: 1\ntarget:\n");
    let _ = writeln!(out, "  provider: {}", target.provider);
    let url = match &target.url {
        TargetUrl::Sandbox => "sandbox".to_string(),
        TargetUrl::Http(url) => quote(url),
    };
    let _ = writeln!(out, "  url: {url}");
    let creds = &target.credentials;
    let refs = [
        ("client_id", &creds.client_id),
        ("client_secret", &creds.client_secret),
        ("api_token", &creds.api_token),
        ("api_key", &creds.api_key),
        ("username", &creds.username),
        ("password", &creds.password),
    ];
    if refs.iter().any(|(_, r)| r.is_some()) {
        out.push_str("  credentials:\n");
        for (key, reference) in refs {
            if let Some(reference) = reference {
                let _ = writeln!(out, "    {key}: ${{{}}}", reference.var);
            }
        }
    }
    if live.users.is_empty() {
        out.push_str("users: []\n");
        return out;
    }
    out.push_str("users:\n");
    for user in &live.users {
        let email = user.email.as_deref().unwrap_or(&user.key);
        let _ = writeln!(out, "  - email: {}", quote(email));
        for (name, value) in &user.attributes {
            let _ = writeln!(out, "    {name}: {}", quote(value));
        }
        if !user.roles.is_empty() {
            let roles: Vec<String> = user.roles.iter().map(|r| quote(r)).collect();
            let _ = writeln!(out, "    roles: [{}]", roles.join(", "));
        }
    }
    out
}
