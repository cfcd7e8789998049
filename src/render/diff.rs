//! The plan as a unified diff per user: each changed user's live attributes against what they will
//! be, as YAML, made with `similar`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use similar::TextDiff;

use crate::model::LiveState;
use crate::plan::{Op, Plan};

/// Renders one diff per user the plan changes, in plan order.
pub fn render(plan: &Plan, live: &LiveState) -> String {
    let live_by_key: BTreeMap<&str, _> = live.users.iter().map(|u| (u.key.as_str(), u)).collect();
    let mut users: Vec<&str> = Vec::new();
    for action in &plan.actions {
        if !users.contains(&action.user.as_str()) {
            users.push(&action.user);
        }
    }
    let mut out = String::new();
    for user in users {
        let mut before: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(current) = live_by_key.get(user) {
            if let Some(email) = &current.email {
                before.insert("email", email.clone());
            }
            for (name, value) in &current.attributes {
                before.insert(name, value.clone());
            }
            if let Some(role) = current.roles.iter().next() {
                before.insert("role", role.clone());
            }
        }
        let mut after = before.clone();
        for action in plan.actions.iter().filter(|a| a.user == user) {
            if action.op.is_removal() {
                after.clear();
                continue;
            }
            for change in &action.changes {
                match &change.after {
                    Some(value) => after.insert(change.attribute.as_ref(), value.clone()),
                    None => after.remove(change.attribute.as_ref()),
                };
            }
        }
        let was = yaml(&before);
        let will = yaml(&after);
        let removed = plan
            .actions
            .iter()
            .any(|a| a.user == user && a.op == Op::Delete);
        let shown = crate::plan::display_key(user);
        let (old, new) = match (before.is_empty(), removed) {
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

fn yaml(attributes: &BTreeMap<&str, String>) -> String {
    attributes
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect()
}
