//! The plan as a pull-request comment: a summary first, what needs a reviewer's eye next, the full
//! plan folded away. A hidden marker lets a CI job find and update its own comment.

use std::fmt::Write as _;

use super::TargetInfo;
use crate::escape::{code, fence, mixed};
use crate::plan::view::{Sign, View, plural};
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
    } else if !plan.unfixable.is_empty() && plan.is_empty() {
        "⚠️ differs"
    } else if plan.is_empty() && plan.drifted() {
        "⚠️ users in no file"
    } else if plan.is_empty() {
        "✅ no changes"
    } else {
        "📝 changes"
    };
    let view = View::new(plan);
    let counts = view.counts;
    let _ = writeln!(
        out,
        "| status | {} | change | restore | reactivate | deactivate | delete | unchanged | unmanaged, left alone | out of scope |",
        caps.create_verb
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {status} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        counts.create,
        counts.change,
        counts.restore,
        counts.reactivate,
        counts.deactivate,
        counts.delete,
        plan.unchanged,
        plan.unmanaged.len(),
        plan.out_of_scope,
    );
    if !plan.is_empty() {
        let _ = writeln!(out, "Plan: {}.\n", counts.sentence(caps));
    }
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
    // People who run the account without any file granting it come before everything else.
    let named = |admin: bool| {
        let mut text = String::new();
        for line in plan.unmanaged_lines(|u| u.admin == admin, code) {
            let _ = writeln!(text, "- {line}");
        }
        text
    };
    let admins = plan.unmanaged.iter().filter(|u| u.admin).count();
    if admins > 0 {
        let _ = writeln!(
            out,
            "**⚠️ {} in no file**\n\n{}",
            plural(admins, "owner or admin", "owners or admins"),
            named(true)
        );
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
    if !plan.unfixable.is_empty() {
        out.push_str("**Differences rollcall cannot change**\n\n");
        for line in &plan.unfixable {
            let _ = writeln!(out, "- {}", mixed(line));
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
    let others = plan.unmanaged.len() - admins;
    if others > 0 {
        let _ = writeln!(
            out,
            "**{}**\n\n{}",
            mixed(&plan.unmanaged_heading(others)),
            named(false)
        );
    }
    if !plan.is_empty() {
        let users = view.subjects.iter().filter(|s| !s.is_role).count();
        let body: Vec<String> = super::human::lines(&view, caps)
            .into_iter()
            .map(|line| {
                // Each sign goes to the first column, where diff highlighting looks for it.
                let sign = match line.sign {
                    Some(Sign::Change) => '!',
                    Some(sign) => sign.symbol(),
                    None => ' ',
                };
                let gap = if line.sign.is_some() { " " } else { "" };
                format!("{sign}{}{gap}{}", " ".repeat(line.indent), line.text)
            })
            .collect();
        let body = body.join("\n");
        let fence = fence(&body);
        let _ = writeln!(
            out,
            "<details><summary>Full plan ({})</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n",
            plural(users, "user", "users")
        );
    }
    if let Some(checksum) = checksum {
        let _ = writeln!(out, "Saved plan: {}", code(checksum));
    }
    out
}
