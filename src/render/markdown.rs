//! The plan as a pull-request comment: a summary first, what needs a reviewer's eye next, the full
//! plan folded away. A hidden marker lets a CI job find and update its own comment.

use std::fmt::Write as _;

use super::TargetInfo;
use crate::escape::{code, fence, mixed};
use crate::plan::{Op, Plan};

/// The hidden marker that starts every comment for `target`.
pub fn marker(target: &TargetInfo) -> String {
    format!("<!-- rollcall-plan {} {} -->", target.provider, target.url)
}

/// Renders `plan` as GitHub-flavoured Markdown. `checksum` is the saved plan's, when there is one.
pub fn render(plan: &Plan, target: &TargetInfo, checksum: Option<&str>) -> String {
    let caps = target.provider.capabilities();
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(target));
    let _ = writeln!(
        out,
        "### rollcall plan: {} {}\n",
        target.provider,
        code(&target.url)
    );
    let status = if !plan.blocked.is_empty() {
        "⛔ blocked"
    } else if plan.is_empty() {
        "✅ no changes"
    } else {
        "📝 changes"
    };
    let _ = writeln!(
        out,
        "| status | {} | change | delete | unchanged | unmanaged, left alone | out of scope |",
        caps.create_verb
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    let changed = plan
        .actions
        .iter()
        .filter(|a| {
            matches!(
                a.op,
                Op::Update | Op::Promote | Op::Demote | Op::Grant | Op::Revoke
            )
        })
        .filter(|a| {
            !plan
                .actions
                .iter()
                .any(|b| b.user == a.user && matches!(b.op, Op::Create | Op::Restore))
        })
        .map(|a| a.user.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let _ = writeln!(
        out,
        "| {status} | {} | {changed} | {} | {} | {} | {} |\n",
        plan.users_with(&[Op::Create, Op::Restore]),
        plan.users_with(&[Op::Delete, Op::Deactivate]),
        plan.unchanged,
        plan.unmanaged_ignored,
        plan.out_of_scope,
    );
    for blocked in &plan.blocked {
        let _ = writeln!(
            out,
            "> **Blocked by the {} guard:** {}",
            code(&blocked.guard),
            mixed(&blocked.message)
        );
        if let Some(hint) = &blocked.hint {
            let _ = writeln!(out, "> {}", mixed(hint));
        }
        out.push('\n');
    }
    let attention: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|a| match a.op {
            Op::Delete | Op::Deactivate | Op::DeleteRole => Some(format!(
                "- **{}** {}{}",
                a.op.name(),
                code(&a.subject()),
                a.reason
                    .as_ref()
                    .map(|r| format!(": {}", mixed(r)))
                    .unwrap_or_default()
            )),
            Op::Promote | Op::Demote => Some(format!(
                "- **{}** {}: role {} → {}",
                a.op.name(),
                code(crate::plan::display_key(&a.user)),
                code(
                    a.changes
                        .iter()
                        .find(|c| c.attribute == "role")
                        .and_then(|c| c.before.as_deref())
                        .unwrap_or("none")
                ),
                code(a.after("role").unwrap_or("none"))
            )),
            Op::Grant | Op::Revoke => Some(format!(
                "- **{}** {}: {}",
                a.op.name(),
                code(&a.subject()),
                a.roles()
                    .iter()
                    .map(|r| code(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => None,
        })
        .collect();
    if !attention.is_empty() {
        out.push_str("**Removals and role changes**\n\n");
        for line in attention {
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
    }
    if !plan.protected.is_empty() {
        let _ = writeln!(
            out,
            "Protected, left as they are: {}.\n",
            plan.protected
                .iter()
                .map(|p| code(p))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !plan.is_empty() {
        let users = plan
            .actions
            .iter()
            .filter(|a| !a.op.is_role())
            .map(|a| a.user.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let noun = if users == 1 { "user" } else { "users" };
        let text = super::human::render(plan, target, false);
        let fence = fence(&text);
        let _ = writeln!(
            out,
            "<details><summary>Full plan ({users} {noun})</summary>\n\n{fence}diff"
        );
        for line in text.lines() {
            // Move each sign to the first column, where diff highlighting looks for it.
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            match trimmed.chars().next() {
                Some(sign @ ('+' | '-' | '~')) if trimmed[1..].starts_with(' ') => {
                    let sign = if sign == '~' { '!' } else { sign };
                    let _ = writeln!(out, "{sign}{}{}", " ".repeat(indent), &trimmed[1..]);
                }
                _ => {
                    let _ = writeln!(out, " {line}");
                }
            }
        }
        let _ = write!(out, "{fence}\n\n</details>\n\n");
    }
    if let Some(checksum) = checksum {
        let _ = writeln!(out, "Saved plan: {}", code(checksum));
    }
    out
}
