//! The plan as people read it, in the spirit of `terraform plan`.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::TargetInfo;
use crate::escape::visible;
use crate::plan::{Action, Op, Plan};

/// Renders `plan`; `color` adds ANSI styles.
pub fn render(plan: &Plan, target: &TargetInfo, color: bool) -> String {
    let caps = target.provider.capabilities();
    let paint = |style: Style, text: &str| {
        if color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    };
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
    let red = Style::new().fg_color(Some(AnsiColor::Red.into()));
    let bold = Style::new().bold();

    let mut out = String::new();
    if plan.is_empty() {
        out.push_str(&paint(bold, "No changes."));
        if plan.out_of_scope > 0 {
            out.push_str(" Nothing in scope differs from the files.\n");
        } else {
            out.push_str(" The account matches the files.\n");
        }
    } else {
        let _ = writeln!(
            out,
            "rollcall will perform the following actions on {} {}:\n",
            target.provider,
            visible(&target.url)
        );
        for group in by_subject(&plan.actions) {
            let first = group[0];
            let (symbol, style, what) = if first.op == Op::CreateRole {
                ("+", green, "will be created".to_string())
            } else if first.op == Op::UpdateRole {
                ("~", yellow, "will be updated in-place".to_string())
            } else if first.op == Op::DeleteRole {
                ("-", red, "will be deleted".to_string())
            } else if group.iter().any(|a| a.op == Op::Create) {
                ("+", green, format!("will be {}", caps.create_verb_past))
            } else if group.iter().any(|a| a.op == Op::Restore) {
                ("~", yellow, "will be restored from the trash".to_string())
            } else if group.iter().any(|a| a.op == Op::Delete) {
                ("-", red, format!("will be {}", caps.delete_verb_past))
            } else if group.iter().any(|a| a.op == Op::Deactivate) {
                ("-", red, "will be deactivated".to_string())
            } else if group.iter().any(|a| a.op == Op::Reactivate) {
                (
                    "~",
                    yellow,
                    "will be reactivated and updated in-place".to_string(),
                )
            } else {
                ("~", yellow, "will be updated in-place".to_string())
            };
            let reason = first
                .reason
                .as_ref()
                .map(|r| format!(" ({})", visible(r)))
                .unwrap_or_default();
            let noun = if first.op.is_role() { "role" } else { "user" };
            let name = visible(crate::plan::display_key(&first.user));
            let _ = writeln!(
                out,
                "  {}",
                paint(bold, &format!("# {noun} \"{name}\" {what}{reason}"))
            );
            let _ = writeln!(out, "  {} {noun} \"{name}\" {{", paint(style, symbol));
            let mut rows: Vec<(String, &str, String)> = Vec::new();
            if symbol == "~"
                && let Some(id) = &first.live_id
            {
                rows.push((" ".into(), "id", quote(Some(id))));
            }
            for action in &group {
                for change in &action.changes {
                    // A new user's follow-up from a default (say, its role) is part of what it
                    // is created with.
                    if symbol == "+"
                        && change.before.is_some()
                        && let Some(row) = rows
                            .iter_mut()
                            .find(|(_, name, _)| *name == change.attribute)
                    {
                        row.2 = quote(change.after.as_deref());
                        continue;
                    }
                    let (sign, value) = match (&change.before, &change.after, symbol) {
                        (_, after, "+") => ("+", quote(after.as_deref())),
                        (before, _, "-") => ("-", quote(before.as_deref())),
                        (None, after, _) => ("+", quote(after.as_deref())),
                        (before, None, _) => ("-", quote(before.as_deref())),
                        (before, after, _) => (
                            "~",
                            format!(
                                "{} -> {}",
                                quote(before.as_deref()),
                                quote(after.as_deref())
                            ),
                        ),
                    };
                    rows.push((sign.into(), change.attribute.as_ref(), value));
                }
            }
            let width = rows
                .iter()
                .map(|(_, name, _)| name.len())
                .max()
                .unwrap_or(0);
            for (sign, name, value) in rows {
                let sign_style = match sign.as_str() {
                    "+" => green,
                    "-" => red,
                    "~" => yellow,
                    _ => Style::new(),
                };
                let _ = writeln!(
                    out,
                    "      {} {name:<width$} = {value}",
                    paint(sign_style, &sign)
                );
            }
            let hidden: usize = group.iter().map(|a| a.unchanged).sum();
            if hidden > 0 {
                let noun = if hidden == 1 {
                    "attribute"
                } else {
                    "attributes"
                };
                let _ = writeln!(out, "        # ({hidden} unchanged {noun} hidden)");
            }
            out.push_str("    }\n\n");
        }
        let create = plan.users_with(&[Op::Create]);
        let restored = plan.users_with(&[Op::Restore]);
        let removed = plan.users_with(&[Op::Delete]);
        let deactivated = plan.users_with(&[Op::Deactivate]);
        let reactivated = plan.users_with(&[Op::Reactivate]);
        let changed = by_subject(&plan.actions)
            .iter()
            .filter(|g| {
                g.iter().all(|a| {
                    matches!(
                        a.op,
                        Op::Update | Op::Promote | Op::Demote | Op::Grant | Op::Revoke
                    )
                })
            })
            .count();
        let mut summary = format!(
            "Plan: {create} to {}, {changed} to change",
            caps.create_verb
        );
        let mut more = |n: usize, what: &str| {
            if n > 0 {
                let _ = write!(summary, ", {n} {what}");
            }
        };
        more(restored, "to restore");
        more(reactivated, "to reactivate");
        more(deactivated, "to deactivate");
        let _ = write!(summary, ", {removed} to delete");
        let roles = |op: Op| plan.actions.iter().filter(|a| a.op == op).count();
        let plural = |n: usize| if n == 1 { "role" } else { "roles" };
        let (new_roles, changed_roles, old_roles) = (
            roles(Op::CreateRole),
            roles(Op::UpdateRole),
            roles(Op::DeleteRole),
        );
        if new_roles + changed_roles + old_roles > 0 {
            let _ = write!(summary, "; {new_roles} {} to create, ", plural(new_roles));
            if changed_roles > 0 {
                let _ = write!(summary, "{changed_roles} to change, ");
            }
            let _ = write!(summary, "{old_roles} to delete");
        }
        summary.push('.');
        out.push_str(&paint(bold, &summary));
        out.push('\n');
    }
    if plan.unmanaged_ignored > 0 {
        let n = plan.unmanaged_ignored;
        let users = if n == 1 {
            "live user is"
        } else {
            "live users are"
        };
        let _ = writeln!(
            out,
            "{n} {users} in no file and left alone (`policy.unmanaged: ignore`)."
        );
    }
    if plan.out_of_scope > 0 {
        let n = plan.out_of_scope;
        let users = if n == 1 { "user has" } else { "users have" };
        let removals = match plan.out_of_scope_removals {
            0 => String::new(),
            1 => " (1 removal)".into(),
            r => format!(" ({r} removals)"),
        };
        let _ = writeln!(
            out,
            "{n} more {users} pending changes{removals} outside `--target-user`/`--exclude-user`; they were not planned."
        );
    }
    if !plan.matched_by_email.is_empty() {
        let _ = writeln!(
            out,
            "Matched by email, as the account's list does not return their {}: {}.",
            caps.identity,
            visible(&plan.matched_by_email.join(", "))
        );
    }
    if !plan.protected.is_empty() {
        let _ = writeln!(
            out,
            "Protected by `policy.protect`, left as they are: {}.",
            plan.protected
                .iter()
                .map(|k| visible(crate::plan::display_key(k)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for blocked in &plan.blocked {
        let _ = writeln!(
            out,
            "\n{}: {}",
            paint(
                red.bold(),
                &format!("Blocked by the {} guard", blocked.guard)
            ),
            visible(&blocked.message)
        );
        if let Some(hint) = &blocked.hint {
            let _ = writeln!(out, "  hint: {}", visible(hint));
        }
    }
    out
}

fn quote(value: Option<&str>) -> String {
    match value {
        Some(crate::plan::diff::SENSITIVE) => crate::plan::diff::SENSITIVE.to_string(),
        Some(v) => format!("{v:?}"),
        None => "null".into(),
    }
}

/// Actions grouped by user or role, in the order each first appears.
fn by_subject(actions: &[Action]) -> Vec<Vec<&Action>> {
    let mut groups: Vec<Vec<&Action>> = Vec::new();
    let mut index: std::collections::HashMap<(bool, &str), usize> =
        std::collections::HashMap::new();
    for action in actions {
        let subject = (action.op.is_role(), action.user.as_str());
        match index.get(&subject) {
            Some(&i) => groups[i].push(action),
            None => {
                index.insert(subject, groups.len());
                groups.push(vec![action]);
            }
        }
    }
    groups
}
