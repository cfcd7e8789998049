//! The plan as people see it, computed once: actions grouped per subject (a user or a role), each
//! subject's headline and rows, and the one set of counts. Every renderer, apply's report and the
//! drift check only format a [`View`], so no two of them can count or word a plan differently.

use serde::Serialize;

use super::{Action, Kind, Op, Plan, display_key};
use crate::model::capabilities::Capabilities;

/// What happens to a subject as a whole, which decides how it is counted and headed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Headline {
    Create,
    Restore,
    Reactivate,
    Update,
    Deactivate,
    Delete,
    CreateRole,
    UpdateRole,
    DeleteRole,
    CreateGroup,
    UpdateGroup,
    DeleteGroup,
}

/// How a row reads: added, removed, changed, or shown for reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    Add,
    Remove,
    Change,
    Same,
}

impl Sign {
    pub fn symbol(self) -> char {
        match self {
            Sign::Add => '+',
            Sign::Remove => '-',
            Sign::Change => '~',
            Sign::Same => ' ',
        }
    }
}

/// One attribute of a subject, its value already written as the plan shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub sign: Sign,
    pub attribute: String,
    pub value: String,
}

/// Everything the plan does to one user, role or group.
#[derive(Debug)]
pub struct Subject<'a> {
    pub kind: Kind,
    /// The natural key (users) or name (roles, groups).
    pub key: &'a str,
    pub headline: Headline,
    /// In plan order.
    pub actions: Vec<&'a Action>,
}

/// How many users and roles the plan touches, by headline, and how many API actions it takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub create: usize,
    pub restore: usize,
    pub reactivate: usize,
    pub change: usize,
    pub deactivate: usize,
    pub delete: usize,
    pub create_role: usize,
    pub change_role: usize,
    pub delete_role: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub create_group: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub change_group: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub delete_group: usize,
    /// API actions: what apply carries out and reports.
    pub actions: usize,
}

/// A plan grouped and counted for showing.
#[derive(Debug)]
pub struct View<'a> {
    /// In the order each subject first appears in the plan.
    pub subjects: Vec<Subject<'a>>,
    pub counts: Counts,
}

impl<'a> View<'a> {
    pub fn new(plan: &'a Plan) -> View<'a> {
        let mut subjects: Vec<Subject<'a>> = Vec::new();
        let mut index: std::collections::HashMap<(Kind, &str), usize> =
            std::collections::HashMap::new();
        for action in &plan.actions {
            let key = (action.op.kind(), action.user.as_str());
            match index.get(&key) {
                Some(&i) => subjects[i].actions.push(action),
                None => {
                    index.insert(key, subjects.len());
                    subjects.push(Subject {
                        kind: key.0,
                        key: key.1,
                        headline: Headline::Update,
                        actions: vec![action],
                    });
                }
            }
        }
        let mut counts = Counts {
            actions: plan.actions.len(),
            ..Counts::default()
        };
        for subject in &mut subjects {
            subject.headline = headline(&subject.actions);
            let count = match subject.headline {
                Headline::Create => &mut counts.create,
                Headline::Restore => &mut counts.restore,
                Headline::Reactivate => &mut counts.reactivate,
                Headline::Update => &mut counts.change,
                Headline::Deactivate => &mut counts.deactivate,
                Headline::Delete => &mut counts.delete,
                Headline::CreateRole => &mut counts.create_role,
                Headline::UpdateRole => &mut counts.change_role,
                Headline::DeleteRole => &mut counts.delete_role,
                Headline::CreateGroup => &mut counts.create_group,
                Headline::UpdateGroup => &mut counts.change_group,
                Headline::DeleteGroup => &mut counts.delete_group,
            };
            *count += 1;
        }
        View { subjects, counts }
    }
}

fn headline(actions: &[&Action]) -> Headline {
    let has = |op: Op| actions.iter().any(|a| a.op == op);
    match actions[0].op {
        Op::CreateRole => Headline::CreateRole,
        Op::UpdateRole => Headline::UpdateRole,
        Op::DeleteRole => Headline::DeleteRole,
        _ if has(Op::CreateGroup) => Headline::CreateGroup,
        _ if has(Op::DeleteGroup) => Headline::DeleteGroup,
        op if op.kind() == Kind::Group => Headline::UpdateGroup,
        _ if has(Op::Create) => Headline::Create,
        _ if has(Op::Restore) => Headline::Restore,
        _ if has(Op::Delete) => Headline::Delete,
        _ if has(Op::Deactivate) => Headline::Deactivate,
        _ if has(Op::Reactivate) => Headline::Reactivate,
        _ => Headline::Update,
    }
}

impl Counts {
    /// Users and roles in words, then API actions, the same in every format: `2 to invite, 1 to
    /// change, 1 to delete (6 actions)`, with restores, reactivations, deactivations and roles
    /// only when there are any.
    pub fn sentence(&self, caps: &Capabilities) -> String {
        let mut text = format!(
            "{} to {}, {} to change",
            self.create, caps.create_verb, self.change
        );
        for (n, what) in [
            (self.restore, "to restore"),
            (self.reactivate, "to reactivate"),
            (self.deactivate, "to deactivate"),
        ] {
            if n > 0 {
                text.push_str(&format!(", {n} {what}"));
            }
        }
        text.push_str(&format!(", {} to delete", self.delete));
        if self.create_role + self.change_role + self.delete_role > 0 {
            text.push_str(&format!(
                "; {} to create, ",
                plural(self.create_role, "role", "roles")
            ));
            if self.change_role > 0 {
                text.push_str(&format!("{} to change, ", self.change_role));
            }
            text.push_str(&format!("{} to delete", self.delete_role));
        }
        if self.create_group + self.change_group + self.delete_group > 0 {
            text.push_str(&format!(
                "; {} to create, {} to change",
                plural(self.create_group, "group", "groups"),
                self.change_group
            ));
            if self.delete_group > 0 {
                text.push_str(&format!(", {} to delete", self.delete_group));
            }
        }
        text.push_str(&format!(" ({})", plural(self.actions, "action", "actions")));
        text
    }
}

/// `n` and the noun for it: `1 user`, `2 users`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Subject<'_> {
    /// How the subject is shown: the user's key (an email-matched user by its email) or the role.
    pub fn name(&self) -> &str {
        display_key(self.key)
    }

    /// `user`, `role` or `group`.
    pub fn noun(&self) -> &'static str {
        self.kind.noun()
    }

    /// Why the subject is removed, when it is.
    pub fn reason(&self) -> Option<&str> {
        self.actions.iter().find_map(|a| a.reason.as_deref())
    }

    /// Added, removed or changed as a whole.
    pub fn sign(&self) -> Sign {
        match self.headline {
            Headline::Create | Headline::CreateRole | Headline::CreateGroup => Sign::Add,
            Headline::Delete
            | Headline::Deactivate
            | Headline::DeleteRole
            | Headline::DeleteGroup => Sign::Remove,
            _ => Sign::Change,
        }
    }

    /// What will happen, in words: `will be invited`, `will be reactivated and updated in-place`.
    pub fn what(&self, caps: &Capabilities) -> String {
        match self.headline {
            Headline::Create => format!("will be {}", caps.create_verb_past),
            Headline::CreateRole | Headline::CreateGroup => "will be created".into(),
            Headline::Restore => "will be restored from the trash".into(),
            Headline::Reactivate => "will be reactivated and updated in-place".into(),
            Headline::Update | Headline::UpdateRole | Headline::UpdateGroup => {
                "will be updated in-place".into()
            }
            Headline::Deactivate if self.actions.iter().any(|a| a.op == Op::EndSessions) => {
                "will be logged out and deactivated".into()
            }
            Headline::Deactivate => "will be deactivated".into(),
            Headline::Delete => format!("will be {}", caps.delete_verb_past),
            Headline::DeleteRole | Headline::DeleteGroup => "will be deleted".into(),
        }
    }

    /// The attribute rows, with values typed: text quoted, flags and numbers bare.
    pub fn rows(&self) -> Vec<Row> {
        let sign = self.sign();
        let mut rows: Vec<Row> = Vec::new();
        if sign == Sign::Change
            && let Some(id) = self.actions[0].live_id.as_deref()
        {
            rows.push(Row {
                sign: Sign::Same,
                attribute: "id".into(),
                value: typed("id", Some(id)),
            });
        }
        // Roles granted and revoked (roles as resources) are shown as one list each.
        let mut granted: Vec<&str> = Vec::new();
        let mut revoked: Vec<&str> = Vec::new();
        // A group's members joining and leaving, likewise.
        let mut joining: Vec<&str> = Vec::new();
        let mut leaving: Vec<&str> = Vec::new();
        for action in &self.actions {
            if matches!(action.op, Op::AddMembers | Op::RemoveMembers) {
                for change in &action.changes {
                    match (&change.before, &change.after) {
                        (None, Some(user)) => joining.push(display_key(user)),
                        (Some(user), None) => leaving.push(display_key(user)),
                        _ => {}
                    }
                }
                continue;
            }
            if let (Some(on), Some(change)) = (&action.on, action.changes.first()) {
                let value = |v: &Option<String>| typed("permission", v.as_deref());
                let row = |sign, value| Row {
                    sign,
                    attribute: format!("{} \"{}\" ({})", on.entity.noun(), on.name, on.id),
                    value,
                };
                let none = |v: &Option<String>| v.as_deref().is_none_or(|p| p == "no-access");
                // A permission from nothing is added, and one taken away is removed.
                rows.push(match (none(&change.before), none(&change.after)) {
                    (true, _) => row(Sign::Add, value(&change.after)),
                    (false, true) => row(Sign::Remove, value(&change.before)),
                    _ if sign == Sign::Add => row(Sign::Add, value(&change.after)),
                    _ => row(
                        Sign::Change,
                        format!("{} -> {}", value(&change.before), value(&change.after)),
                    ),
                });
                continue;
            }
            if matches!(action.op, Op::Grant | Op::Revoke) {
                let list = if action.op == Op::Grant {
                    &mut granted
                } else {
                    &mut revoked
                };
                list.extend(action.roles());
                continue;
            }
            for change in &action.changes {
                let attribute = change.attribute.as_ref();
                let value = |v: &Option<String>| typed(attribute, v.as_deref());
                // A new user's follow-up from a default (say, its role) is part of what it is
                // created with.
                if sign == Sign::Add
                    && change.before.is_some()
                    && let Some(row) = rows.iter_mut().find(|r| r.attribute == attribute)
                {
                    row.value = value(&change.after);
                    continue;
                }
                let (row_sign, text) = match (&change.before, &change.after, sign) {
                    (_, after, Sign::Add) => (Sign::Add, value(after)),
                    (before, _, Sign::Remove) => (Sign::Remove, value(before)),
                    (None, after, _) => (Sign::Add, value(after)),
                    (before, None, _) => (Sign::Remove, value(before)),
                    (before, after, _) => (
                        Sign::Change,
                        format!("{} -> {}", value(before), value(after)),
                    ),
                };
                rows.push(Row {
                    sign: row_sign,
                    attribute: attribute.to_string(),
                    value: text,
                });
            }
        }
        for (row_sign, attribute, names) in [
            (Sign::Add, "roles", &granted),
            (Sign::Remove, "roles", &revoked),
            (Sign::Add, "members", &joining),
            (Sign::Remove, "members", &leaving),
        ] {
            if !names.is_empty() {
                rows.push(Row {
                    sign: row_sign,
                    attribute: attribute.into(),
                    value: typed(attribute, Some(&names.join(", "))),
                });
            }
        }
        rows
    }

    /// Managed attributes that stay as they are.
    pub fn unchanged(&self) -> usize {
        self.actions.iter().map(|a| a.unchanged).sum()
    }

    /// What a finished action did, in words, for apply's report.
    pub fn done(action: &Action, caps: &Capabilities) -> String {
        match action.op {
            Op::Create => caps.create_verb_past.to_string(),
            Op::CreateRole => "created".into(),
            Op::Restore => "restored from the trash".into(),
            Op::Grant => format!("granted {}", action.roles().join(", ")),
            Op::Revoke => format!("revoked {}", action.roles().join(", ")),
            Op::Update | Op::UpdateRole => "updated".into(),
            Op::Promote | Op::Demote => {
                format!("role set to {}", action.after("role").unwrap_or("?"))
            }
            Op::Reactivate => "reactivated".into(),
            Op::EndSessions => "logged out".into(),
            Op::Deactivate => "deactivated".into(),
            Op::Delete => caps.delete_verb_past.into(),
            Op::DeleteRole => "deleted".into(),
            Op::CreateGroup => "created".into(),
            Op::DeleteGroup => "deleted".into(),
            Op::UpdateGroup => format!("renamed {}", action.after("name").unwrap_or("?")),
            Op::AddMembers => format!(
                "added {}",
                plural(action.changes.len(), "member", "members")
            ),
            Op::RemoveMembers => format!(
                "removed {}",
                plural(action.changes.len(), "member", "members")
            ),
            Op::SetPermission | Op::SetGroupPermission => match &action.on {
                Some(on) => format!(
                    "{} on {} \"{}\"",
                    action
                        .changes
                        .first()
                        .and_then(|c| c.after.as_deref())
                        .unwrap_or("?"),
                    on.entity.noun(),
                    on.name
                ),
                None => "permission set".into(),
            },
        }
    }
}

/// Attributes whose values are flags or whole numbers, shown bare.
const BARE: &[&str] = &[
    "admin",
    "plan_admin",
    "only_sees_readable",
    "force_logout",
    "sessions_limit",
];

/// A value as the plan shows it: `null` for none, the sensitive marker as it is, flags and
/// numbers bare, everything else quoted with control characters escaped.
fn typed(attribute: &str, value: Option<&str>) -> String {
    match value {
        None => "null".into(),
        Some(super::diff::SENSITIVE) => super::diff::SENSITIVE.to_string(),
        // A set of roles is a list, whatever carries it.
        Some(v) if attribute == "roles" => {
            let names: Vec<String> = v
                .split(", ")
                .filter(|n| !n.is_empty())
                .map(|n| format!("{n:?}"))
                .collect();
            format!("[{}]", names.join(", "))
        }
        Some(v)
            if BARE.contains(&attribute)
                && (v == "true" || v == "false" || v.parse::<u64>().is_ok()) =>
        {
            v.to_string()
        }
        Some(v) => format!("{v:?}"),
    }
}

/// How many live users in no file a plan names; the rest are counted.
pub const UNMANAGED_NAMED: usize = 50;

impl super::UnmanagedUser {
    /// What a plan says of the user after its name: `owner, active`, `deactivated`.
    pub fn details(&self) -> String {
        match &self.role {
            Some(role) => format!("{role}, {}", self.state),
            None => self.state.clone(),
        }
    }
}

impl super::Plan {
    /// The live users in no file, one line each (`name (details)`, each part escaped by
    /// `escape`), up to [`UNMANAGED_NAMED`] of those `chosen`, then how many more there are.
    pub fn unmanaged_lines(
        &self,
        chosen: impl Fn(&super::UnmanagedUser) -> bool,
        escape: impl Fn(&str) -> String,
    ) -> Vec<String> {
        let users: Vec<&super::UnmanagedUser> =
            self.unmanaged.iter().filter(|u| chosen(u)).collect();
        let mut lines: Vec<String> = users
            .iter()
            .take(UNMANAGED_NAMED)
            .map(|u| format!("{} ({})", escape(&u.user), escape(&u.details())))
            .collect();
        if users.len() > UNMANAGED_NAMED {
            lines.push(format!("… and {} more", users.len() - UNMANAGED_NAMED));
        }
        lines
    }

    /// The sentence that introduces `n` of the live users in no file.
    pub fn unmanaged_heading(&self, n: usize) -> String {
        let users = plural(n, "live user", "live users");
        if self.unmanaged_drift {
            format!("{users} in no file, counted as drift")
        } else {
            let verb = if n == 1 { "is" } else { "are" };
            format!("{users} {verb} in no file and left alone (`policy.unmanaged: ignore`)")
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Each change of a person's effective access, as plans list it:
/// `ada@acme.org: app "Acme shop" (id) "edit" -> "manage"`.
pub fn effect_lines(effects: &[super::access::AccessEffect]) -> Vec<String> {
    effects
        .iter()
        .map(|e| {
            format!(
                "{}: {} \"{}\" ({}) {} -> {}",
                display_key(&e.user),
                e.on.entity.noun(),
                e.on.name,
                e.on.id,
                typed("permission", Some(&e.before)),
                typed("permission", Some(&e.after)),
            )
        })
        .collect()
}
