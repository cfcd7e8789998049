//! The plan as a unified diff per user: each changed user's live attributes against what they will
//! be, as YAML, made with `similar`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use std::borrow::Cow;

use similar::TextDiff;

use crate::escape::visible;

use crate::model::LiveState;
use crate::model::vocab::State;
use crate::plan::view::View;
use crate::plan::{Op, Plan};

/// Renders one diff per user (and per role) the plan changes, in plan order.
pub fn render(plan: &Plan, live: &LiveState) -> String {
    let live_by_key: BTreeMap<&str, _> = live.users.iter().map(|u| (u.key.as_str(), u)).collect();
    // Providers whose roles are resources hold sets of them; the others one role each.
    let role_sets = live.roles.is_some();
    let view = View::new(plan);
    let mut out = String::new();
    // Live users in no file have no diff; they are named in the preamble, which patch tools
    // pass over.
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(out, "# {}:", plan.unmanaged_heading(plan.unmanaged.len()));
        for line in plan.unmanaged_lines(|_| true, |s| visible(s).into_owned()) {
            let _ = writeln!(out, "#   - {line}");
        }
    }
    for subject in &view.subjects {
        let (is_role, name) = (subject.is_role, subject.key);
        let actions = || subject.actions.iter().copied();
        let mut before: BTreeMap<&str, String> = BTreeMap::new();
        let mut roles: BTreeSet<String> = BTreeSet::new();
        if let Some(current) = live_by_key.get(name).filter(|_| !is_role) {
            if let Some(email) = &current.email {
                before.insert("email", email.clone());
            }
            if current.state != State::Active {
                before.insert("state", current.state.to_string());
            }
            for (attribute, value) in &current.attributes {
                before.insert(attribute, value.clone());
            }
            if role_sets {
                roles = current.roles.iter().cloned().collect();
            } else if let Some(role) = current.roles.iter().next() {
                before.insert("role", role.clone());
            }
        }
        if let Some(role) = live
            .roles
            .iter()
            .flatten()
            .find(|r| is_role && r.name == name)
        {
            before.insert("name", role.name.clone());
            if let Some(description) = &role.description {
                before.insert("description", description.clone());
            }
        }
        let had_roles = !roles.is_empty();
        let mut after = before.clone();
        for action in actions() {
            if action.op.is_removal() || action.op == Op::DeleteRole {
                after.clear();
                roles.clear();
                continue;
            }
            for change in &action.changes {
                match (change.attribute.as_ref(), &change.before, &change.after) {
                    ("role", _, Some(role)) if role_sets => {
                        roles.insert(role.clone());
                    }
                    ("role", Some(role), None) if role_sets => {
                        roles.remove(role);
                    }
                    ("roles", _, Some(list)) => {
                        roles = list
                            .split(", ")
                            .filter(|r| !r.is_empty())
                            .map(str::to_string)
                            .collect();
                    }
                    ("state", _, Some(state)) if state == State::Active.as_str() => {
                        after.remove("state");
                    }
                    (attribute, _, Some(value)) => {
                        after.insert(attribute, value.clone());
                    }
                    (attribute, _, None) => {
                        after.remove(attribute);
                    }
                }
            }
        }
        let mut was = yaml(&before);
        let mut will = yaml(&after);
        if role_sets && !is_role {
            if had_roles {
                let live_roles = live_by_key.get(name).map(|u| &u.roles);
                let _ = match live_roles {
                    Some(live) => writeln!(was, "roles: {}", list(live)),
                    None => writeln!(was, "roles: {}", list(&roles)),
                };
            }
            if !after.is_empty() {
                let _ = writeln!(will, "roles: {}", list(&roles));
            }
        }
        let removed = actions().any(|a| matches!(a.op, Op::Delete | Op::DeleteRole));
        let shown = if is_role {
            format!("role/{}", visible(name))
        } else {
            visible(crate::plan::display_key(name)).into_owned()
        };
        let (old, new) = match (was.is_empty(), removed) {
            (true, _) => ("/dev/null".to_string(), format!("desired/{shown}")),
            (_, true) => (format!("live/{shown}"), "/dev/null".to_string()),
            _ => (format!("live/{shown}"), format!("desired/{shown}")),
        };
        let _ = write!(
            out,
            "{}",
            TextDiff::from_lines(&was, &will)
                .unified_diff()
                .context_radius(10)
                .header(&old, &new)
        );
    }
    out
}

fn list<'r>(roles: impl IntoIterator<Item = &'r String>) -> String {
    let names: Vec<Cow<'_, str>> = roles.into_iter().map(|r| visible(r)).collect();
    format!("[{}]", names.join(", "))
}

fn yaml(attributes: &BTreeMap<&str, String>) -> String {
    attributes
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", visible(v)))
        .collect()
}
