//! `rollcall export PATH...`: write an account's live users as a desired-state file, the way to
//! adopt an existing account.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Context as _;

use super::session;
use super::{ExportArgs, Printer, exit};
use crate::model::access::{Entity, Principal};
use crate::model::vocab::{State, TargetUrl};
use crate::model::{DesiredState, LiveState};
use crate::plan::view::plural;
use crate::session::Session;

pub const EXAMPLES: &str = "\
Examples:
  rollcall export target.yaml > team.yaml          the users of the account target.yaml names
  rollcall export target.yaml --out team.yaml
  rollcall plan team.yaml                          No changes: the file matches the account

The file holds the target (credentials stay `${ENV_VAR}` references) and every live user.";

pub fn run(args: &ExportArgs, output: Printer) -> anyhow::Result<u8> {
    let refuse = |path: &std::path::Path| {
        anyhow::anyhow!(
            "`{}` exists; export never replaces a file unless `--force` is given",
            path.display()
        )
    };
    if let Some(path) = &args.out
        && !args.force
        && path.exists()
    {
        return Err(refuse(path));
    }
    let Some(desired) = session::load(&args.paths, output)? else {
        return Ok(exit::ERROR);
    };
    let caps = desired.target.provider.capabilities();
    session::runtime()?.block_on(async {
        let session = Session::connect(desired, None).await?;
        let mut live = session.fetch().await?;
        if caps.access {
            use crate::providers::Account as _;
            let scope = crate::model::access::AccessScope::Everything;
            let access = session.account.fetch_access(&scope).await.with_context(|| {
                format!(
                    "cannot read the apps, meta sites and groups of {} {}",
                    session.target.provider, session.target.url
                )
            })?;
            live.access = Some(access);
        }
        // A user the list shows without its identity (found by email instead) cannot be
        // written back as the files name it.
        let hidden = live
            .users
            .iter()
            .filter(|u| u.key.starts_with("email:"))
            .count();
        if hidden > 0 {
            anyhow::bail!(
                "export is not available here: {} has its users' `{}` hidden ({} of {} listed without it)",
                caps.name,
                caps.identity,
                hidden,
                live.users.len()
            );
        }
        let text = render(&session.desired, &live);
        match &args.out {
            Some(path) => {
                let mut file = std::fs::OpenOptions::new();
                file.write(true);
                if args.force {
                    file.create(true).truncate(true);
                } else {
                    // Made while the account was read: still never replaced.
                    file.create_new(true);
                }
                file.open(path)
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::AlreadyExists => refuse(path),
                        _ => anyhow::Error::new(e)
                            .context(format!("cannot write `{}`", path.display())),
                    })?
                    .write_all(text.as_bytes())
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
                let users = live.users.iter().filter(|u| u.state != State::Absent);
                output.summary(format_args!(
                    "Wrote {} to `{}`.",
                    plural(users.count(), "user", "users"),
                    path.display()
                ));
            }
            None => output.data(&text),
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
    // The plans users hold, which a file must declare to name them.
    let plans: std::collections::BTreeSet<&str> = live
        .users
        .iter()
        .filter(|u| u.state != State::Absent)
        .filter_map(|u| u.attributes.get("plan").map(String::as_str))
        .collect();
    if !plans.is_empty() {
        out.push_str("plans:\n");
        for plan in plans {
            let _ = writeln!(out, "  - name: {}", quote(plan));
        }
    }
    if let Some(roles) = live.roles.as_ref().filter(|r| !r.is_empty()) {
        out.push_str("roles:\n");
        for role in roles {
            let _ = writeln!(out, "  - name: {}", quote(&role.name));
            if let Some(description) = &role.description {
                let _ = writeln!(out, "    description: {}", quote(description));
            }
        }
    }
    // Users in a trash are gone as far as the files go.
    let users: Vec<_> = live
        .users
        .iter()
        .filter(|u| u.state != State::Absent)
        .collect();
    if users.is_empty() {
        out.push_str("users: []\n");
        return out;
    }
    let identity = target.provider.capabilities().identity;
    out.push_str("users:\n");
    for user in users {
        // The identity as the service spells it: matching ignores case, a file keeps it.
        let key = match identity {
            "email" => user.email.as_deref().unwrap_or(&user.key),
            _ => user.spelling.as_deref().unwrap_or(&user.key),
        };
        let _ = writeln!(out, "  - {identity}: {}", quote(key));
        if user.state == State::Deactivated {
            let _ = writeln!(out, "    state: deactivated");
        }
        for (name, value) in &user.attributes {
            // Flags and counts are written bare, as the format reads them; text quoted.
            let bare = matches!(
                name,
                "admin" | "plan_admin" | "only_sees_readable" | "sessions_limit"
            ) && (value == "true" || value == "false" || value.parse::<u64>().is_ok());
            if bare {
                let _ = writeln!(out, "    {name}: {value}");
            } else {
                let _ = writeln!(out, "    {name}: {}", quote(value));
            }
        }
        if !user.roles.is_empty() {
            let roles: Vec<String> = user.roles.iter().map(|r| quote(r)).collect();
            let _ = writeln!(out, "    roles: [{}]", roles.join(", "));
        }
        if let Some(access) = &live.access {
            permissions(&mut out, "    ", access, Principal::User, &user.id);
        }
    }
    if let Some(access) = live.access.as_ref().filter(|a| !a.groups.is_empty()) {
        out.push_str("groups:\n");
        let email_of = |id: &str| {
            live.users
                .iter()
                .find(|u| u.id == id && u.state != State::Absent)
                .map(|u| u.email.as_deref().unwrap_or(&u.key))
        };
        for group in &access.groups {
            let _ = writeln!(out, "  - name: {}", quote(&group.name));
            if let Some(external_id) = &group.external_id {
                let _ = writeln!(out, "    external_id: {}", quote(external_id));
            }
            // The identity provider keeps the members of a group with an external id; others
            // are written only when every one is a user of the file, and left as they are
            // otherwise.
            if group.external_id.is_some() {
                permissions(&mut out, "    ", access, Principal::Group, &group.id);
                continue;
            }
            let members: Option<Vec<String>> = group
                .members
                .iter()
                .flatten()
                .map(|id| email_of(id).map(quote))
                .collect();
            match members {
                Some(members) => {
                    let _ = writeln!(out, "    members: [{}]", members.join(", "));
                }
                None => out
                    .push_str("    # members: some are not users of this file; left as they are\n"),
            }
            permissions(&mut out, "    ", access, Principal::Group, &group.id);
        }
    }
    out
}

/// The `apps` and `meta_sites` of a user or group: each app or meta site by name, or by UUID
/// (its name as a comment) where another has the same name.
fn permissions(
    out: &mut String,
    indent: &str,
    access: &crate::model::access::LiveAccess,
    principal: Principal,
    to: &str,
) {
    for (entity, key, list) in [
        (Entity::App, "apps", &access.apps),
        (Entity::MetaSite, "meta_sites", &access.meta_sites),
    ] {
        let grants: Vec<_> = access
            .grants
            .iter()
            .filter(|g| g.entity == entity && g.principal == principal && g.to == to)
            .collect();
        if grants.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{indent}{key}:");
        for grant in grants {
            let name = list
                .iter()
                .find(|n| n.id == grant.on)
                .map(|n| n.name.as_str());
            // A name is written only where it reads back as this entity: one no other shares,
            // without spaces around it, and not itself a UUID.
            let unique = name.filter(|name| {
                list.iter().filter(|n| n.name == *name).count() == 1
                    && name.trim() == *name
                    && uuid::Uuid::parse_str(name).is_err()
            });
            match (unique, name) {
                (Some(name), _) => {
                    let _ = writeln!(out, "{indent}  {}: {}", quote(name), grant.permission);
                }
                (None, Some(name)) => {
                    let _ = writeln!(
                        out,
                        "{indent}  {}: {}  # {}",
                        quote(&grant.on),
                        grant.permission,
                        crate::escape::visible(name).replace(['\n', '\r'], " ")
                    );
                }
                (None, None) => {
                    let _ = writeln!(out, "{indent}  {}: {}", quote(&grant.on), grant.permission);
                }
            }
        }
    }
}
