//! The plan as a pull-request comment: a summary first, what needs a reviewer's eye next, the full
//! plan folded away. A hidden marker lets a CI job find and update its own comment.

use std::fmt::Write as _;

use super::TargetInfo;
use crate::escape::{code, fence, mixed};
use crate::plan::view::{Sign, View, plural};
use crate::plan::{Op, Plan};

/// The hidden marker that starts every comment for `target`. The URL cannot end the comment or
/// break the line: `--`, `>` and anything not printable are percent-encoded.
pub fn marker(target: &TargetInfo) -> String {
    let mut url = String::new();
    let mut previous = '\0';
    for c in target.url.chars() {
        let encode = c == '>' || (c == '-' && previous == '-') || c.is_control();
        if encode {
            let mut bytes = [0u8; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                url.push_str(&format!("%{b:02X}"));
            }
        } else {
            url.push(c);
        }
        previous = if encode { '%' } else { c };
    }
    format!("<!-- rollcall-plan {} {url} -->", target.provider)
}

/// GitHub's limit on a comment, in characters; rollcall counts bytes, which are never fewer.
pub const COMMENT_LIMIT: usize = 65_536;

/// Renders `plan` as GitHub-flavoured Markdown that fits in a pull-request comment. `checksum`
/// is the saved plan's, when there is one.
pub fn render(plan: &Plan, target: &TargetInfo, checksum: Option<&str>) -> String {
    render_within(plan, target, checksum, COMMENT_LIMIT)
}

/// [`render`] in at most `limit` bytes: the summary, the guards, owners and admins in no file,
/// removals and role changes come first; what does not fit is counted, never silently dropped.
pub fn render_within(
    plan: &Plan,
    target: &TargetInfo,
    checksum: Option<&str>,
    limit: usize,
) -> String {
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
    if plan.access_skipped {
        let _ = writeln!(out, "> {}\n", mixed(super::human::ACCESS_SKIPPED));
    }
    let mut budget = Budget {
        left: limit.saturating_sub(out.len() + checksum.map_or(0, |c| c.len() + 32) + RESERVE),
        cut: false,
    };
    // The guards first, as many as fit.
    let blocked: Vec<String> = plan
        .blocked
        .iter()
        .map(|blocked| {
            let mut text = format!(
                "> **Blocked by the {} guard:** {}\n",
                code(&blocked.guard),
                mixed(&blocked.message)
            );
            if let Some(hint) = &blocked.hint {
                let _ = writeln!(text, "> {}", mixed(hint));
            }
            text.push('\n');
            text
        })
        .collect();
    let shown = budget.fill(&mut out, &blocked);
    if shown < blocked.len() {
        let _ = writeln!(
            out,
            "> … and {} more guards blocked the plan: see the saved plan artifact\n",
            thousands(blocked.len() - shown)
        );
    }
    // People who run the account without any file granting it come before everything else.
    let named = |admin: bool| -> Vec<String> {
        plan.unmanaged_lines(|u| u.admin == admin, code)
            .into_iter()
            .map(|line| format!("- {line}\n"))
            .collect()
    };
    let admins = plan.unmanaged.iter().filter(|u| u.admin).count();
    if admins > 0 {
        let heading = format!(
            "**⚠️ {} in no file**\n\n",
            plural(admins, "owner or admin", "owners or admins")
        );
        budget.section(&mut out, &heading, named(true), "owners and admins");
    }
    let attention: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|a| match a.op {
            Op::Delete | Op::Deactivate | Op::DeleteRole | Op::DeleteGroup => Some(format!(
                "- **{}** {}{}\n",
                a.op.name(),
                code(&a.subject()),
                a.reason
                    .as_ref()
                    .map(|r| format!(": {}", mixed(r)))
                    .unwrap_or_default()
            )),
            Op::Promote | Op::Demote => Some(format!(
                "- **{}** {}: role {} → {}\n",
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
                "- **{}** {}: {}\n",
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
    budget.section(
        &mut out,
        "**Removals and role changes**\n\n",
        attention,
        "removals and role changes",
    );
    // Who gains or loses access, losses first.
    let mut effects: Vec<&crate::plan::access::AccessEffect> = plan.access_effects.iter().collect();
    let rank = |p: &str| {
        crate::model::access::Permission::parse(p)
            .unwrap_or(crate::model::access::Permission::NoAccess)
    };
    effects.sort_by_key(|e| rank(&e.after) > rank(&e.before));
    let effects = effects
        .into_iter()
        .map(|e| {
            format!(
                "- {}: {} {} ({}) {} → {}\n",
                code(crate::plan::display_key(&e.user)),
                e.on.entity.noun(),
                code(&e.on.name),
                code(&e.on.id),
                code(&e.before),
                code(&e.after)
            )
        })
        .collect();
    budget.section(
        &mut out,
        "**Effective access**, the highest of each person's own and groups' permissions\n\n",
        effects,
        "access changes",
    );
    let unfixable = plan
        .unfixable
        .iter()
        .map(|line| format!("- {}\n", mixed(line)))
        .collect();
    budget.section(
        &mut out,
        "**Differences rollcall cannot change**\n\n",
        unfixable,
        "differences",
    );
    let protected = plan
        .protected
        .iter()
        .map(|p| format!("- {}\n", code(crate::plan::display_key(p))))
        .collect();
    budget.section(
        &mut out,
        "**Protected, left as they are**\n\n",
        protected,
        "protected users",
    );
    let others = plan.unmanaged.len() - admins;
    if others > 0 {
        let heading = format!("**{}**\n\n", mixed(&plan.unmanaged_heading(others)));
        budget.section(&mut out, &heading, named(false), "users in no file");
    }
    if !plan.is_empty() {
        // The full plan, subject by subject, as far as the comment has room.
        let mut subjects: Vec<String> = Vec::new();
        for line in super::human::lines(&view, caps) {
            // Each sign goes to the first column, where diff highlighting looks for it.
            let sign = match line.sign {
                Some(Sign::Change) => '!',
                Some(sign) => sign.symbol(),
                None => ' ',
            };
            let gap = if line.sign.is_some() { " " } else { "" };
            let text = format!("{sign}{}{gap}{}\n", " ".repeat(line.indent), line.text);
            match subjects.last_mut() {
                Some(subject) if !line.heading => subject.push_str(&text),
                _ => subjects.push(text),
            }
        }
        let total = subjects.len();
        let users = view
            .subjects
            .iter()
            .filter(|s| s.kind == crate::plan::Kind::User)
            .count();
        // The fence outgrows any run of backticks in the whole plan, so it is known, and
        // counted, before the body is.
        let fence = fence(&subjects.concat());
        let mut shown = 0;
        if budget.take(96 + 2 * fence.len()) {
            let mut body = String::new();
            shown = budget.fill(&mut body, &subjects);
            let _ = writeln!(
                out,
                "<details><summary>Full plan ({})</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n",
                plural(users, "user", "users")
            );
        }
        if shown < total {
            let _ = writeln!(
                out,
                "… {} more {}: see the saved plan artifact.\n",
                thousands(total - shown),
                if total - shown == 1 {
                    "change"
                } else {
                    "changes"
                }
            );
        }
    }
    if budget.cut {
        out.push_str(
            "This comment was cut to fit; `rollcall show` prints the saved plan whole.\n\n",
        );
    }
    if let Some(checksum) = checksum {
        let _ = writeln!(out, "Saved plan: {}", code(checksum));
    }
    out
}

/// Room kept for the notes that say what was cut.
const RESERVE: usize = 1024;

/// What is left of a comment's size, as sections are added in order of importance.
struct Budget {
    left: usize,
    /// Whether anything was left out.
    cut: bool,
}

impl Budget {
    /// Takes `n` bytes if they are left.
    fn take(&mut self, n: usize) -> bool {
        if n <= self.left {
            self.left -= n;
            true
        } else {
            self.cut = true;
            false
        }
    }

    /// Adds as many of `items` as fit, in order; returns how many.
    fn fill(&mut self, out: &mut String, items: &[String]) -> usize {
        let mut shown = 0;
        for item in items {
            if !self.take(item.len()) {
                break;
            }
            out.push_str(item);
            shown += 1;
        }
        shown
    }

    /// Adds a section with as many of its `items` as fit, and how many more there are.
    fn section(&mut self, out: &mut String, heading: &str, items: Vec<String>, what: &str) {
        if items.is_empty() || !self.take(heading.len() + 1) {
            return;
        }
        out.push_str(heading);
        let total = items.len();
        let shown = self.fill(out, &items);
        if shown < total {
            let _ = writeln!(
                out,
                "- … and {} more {what}: see the saved plan artifact",
                thousands(total - shown)
            );
        }
        out.push('\n');
    }
}

/// `1842` as `1,842`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
