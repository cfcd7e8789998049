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
use crate::plan::{Kind, Op, Plan};

/// Renders one diff per user (and per role and group) the plan changes, in plan order. A
/// permission shows as `app "name" (id): permission`; members joining or leaving a group as
/// `member <user>` lines.
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
        let (is_role, name) = (subject.kind == Kind::Role, subject.key);
        let is_user = subject.kind == Kind::User;
        let actions = || subject.actions.iter().copied();
        let mut before: BTreeMap<Cow<'_, str>, String> = BTreeMap::new();
        let mut roles: BTreeSet<String> = BTreeSet::new();
        if let Some(current) = live_by_key.get(name).filter(|_| is_user) {
            if let Some(email) = &current.email {
                before.insert("email".into(), email.clone());
            }
            if current.state != State::Active {
                before.insert("state".into(), current.state.to_string());
            }
            for (attribute, value) in &current.attributes {
                before.insert(attribute.into(), value.clone());
            }
            if role_sets {
                roles = current.roles.iter().cloned().collect();
            } else if let Some(role) = current.roles.iter().next() {
                before.insert("role".into(), role.clone());
            }
        }
        if let Some(role) = live
            .roles
            .iter()
            .flatten()
            .find(|r| is_role && r.name == name)
        {
            before.insert("name".into(), role.name.clone());
            if let Some(description) = &role.description {
                before.insert("description".into(), description.clone());
            }
        }
        // What the plan knows of a group or a permission before: what its changes start from.
        for action in actions() {
            for change in &action.changes {
                let attribute = attribute_of(action, change);
                match (&action.op, &change.before) {
                    (Op::RemoveMembers | Op::UpdateGroup | Op::DeleteGroup, Some(_)) => {
                        before.insert(attribute, shown_before(action, change));
                    }
                    (Op::SetPermission | Op::SetGroupPermission, Some(value))
                        if value != "no-access" =>
                    {
                        before.insert(attribute, value.clone());
                    }
                    _ => {}
                }
            }
        }
        let had_roles = !roles.is_empty();
        let mut after = before.clone();
        for action in actions() {
            if action.op.is_removal() || matches!(action.op, Op::DeleteRole | Op::DeleteGroup) {
                after.clear();
                roles.clear();
                continue;
            }
            for change in &action.changes {
                if action.op.is_access() {
                    let attribute = attribute_of(action, change);
                    match &change.after {
                        Some(value) if value != "no-access" => {
                            let value = match action.op {
                                Op::AddMembers => "joins".to_string(),
                                _ => value.clone(),
                            };
                            after.insert(attribute, value);
                        }
                        _ => {
                            after.remove(&attribute);
                        }
                    }
                    continue;
                }
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
                        after.insert(attribute.into(), value.clone());
                    }
                    (attribute, _, None) => {
                        after.remove(attribute);
                    }
                }
            }
        }
        let mut was = yaml(&before);
        let mut will = yaml(&after);
        if role_sets && is_user {
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
        let removed =
            actions().any(|a| matches!(a.op, Op::Delete | Op::DeleteRole | Op::DeleteGroup));
        let shown = match subject.kind {
            Kind::User => visible(crate::plan::display_key(name)).into_owned(),
            kind => format!("{}/{}", kind.noun(), visible(name)),
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

/// The line an access change is shown under: a permission by what it is on, a member by user.
fn attribute_of<'a>(
    action: &'a crate::plan::Action,
    change: &'a crate::plan::Change,
) -> Cow<'a, str> {
    match (&action.on, action.op) {
        (Some(on), _) => format!("{} \"{}\" ({})", on.entity.noun(), on.name, on.id).into(),
        (None, Op::AddMembers | Op::RemoveMembers) => format!(
            "member {}",
            change
                .after
                .as_deref()
                .or(change.before.as_deref())
                .unwrap_or_default()
        )
        .into(),
        _ => change.attribute.as_ref().into(),
    }
}

/// The value an access change starts from, as the diff shows it.
fn shown_before(action: &crate::plan::Action, change: &crate::plan::Change) -> String {
    match action.op {
        Op::RemoveMembers => "belongs".into(),
        _ => change.before.clone().unwrap_or_default(),
    }
}

fn yaml(attributes: &BTreeMap<Cow<'_, str>, String>) -> String {
    attributes
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", visible(v)))
        .collect()
}
