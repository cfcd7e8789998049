//! Dependency order: which action waits for which.

use std::collections::BTreeMap;

use super::diff::Draft;
use super::{Action, ActionId, Op};

/// Puts drafts in dependency order and links them: role creations, user creations and
/// restores, reactivations, in-place updates, promotions and grants, demotions and revokes,
/// logouts, removals, role deletions.
///
/// What is done to a user waits for its creation, restore or reactivation. A grant waits for
/// the roles it gives to be created. Demotions, revokes of `top_role` and removals of its
/// holders wait for every promotion to it, so an account never drops to zero owners or admins
/// along the way. A removal waits for every other change of its user, its logout included; the
/// removal of a user known only by email waits for every creation. A role's deletion waits for every revoke and removal of its holders.
pub(super) fn order(drafts: Vec<Draft>, top_role: Option<&str>) -> Vec<Action> {
    let stage = |op: Op| match op {
        Op::CreateRole | Op::UpdateRole => 0,
        Op::Create | Op::Restore => 1,
        Op::Reactivate => 2,
        Op::Update => 3,
        Op::Promote | Op::Grant => 4,
        Op::Demote | Op::Revoke => 5,
        Op::EndSessions => 6,
        Op::Deactivate | Op::Delete => 7,
        Op::DeleteRole => 8,
        // Planned apart, after everything here.
        crate::plan::access_ops!() => 9,
    };
    let mut drafts = drafts;
    drafts.sort_by(|a, b| (stage(a.op), &a.user).cmp(&(stage(b.op), &b.user)));
    let mut actions: Vec<Action> = Vec::with_capacity(drafts.len());
    let mut brought_in: BTreeMap<String, ActionId> = BTreeMap::new();
    let mut created_roles: BTreeMap<String, ActionId> = BTreeMap::new();
    let mut promotions: Vec<ActionId> = Vec::new();
    let has_creates = drafts.iter().any(|d| d.op == Op::Create);
    // Per user: the updates, grants and revokes a removal of the same user waits for, since a
    // provider may not change a user once it is deactivated.
    let mut changes_of: BTreeMap<String, Vec<ActionId>> = BTreeMap::new();
    // Per role: the revokes and removals its deletion waits for.
    let mut released: BTreeMap<String, Vec<ActionId>> = BTreeMap::new();
    let is_top = |role: &str| top_role == Some(role);
    for (id, d) in drafts.into_iter().enumerate() {
        let mut depends_on = Vec::new();
        if !d.op.is_role()
            && d.op != Op::Create
            && d.op != Op::Restore
            && let Some(&first) = brought_in.get(&d.user)
        {
            depends_on.push(first);
        }
        let given = roles_given(&d);
        for role in &given {
            if let Some(&creation) = created_roles.get(role.as_str()) {
                depends_on.push(creation);
            }
        }
        let taken: Vec<&str> = d
            .changes
            .iter()
            .filter(|c| c.attribute == "role" && c.after.is_none())
            .filter_map(|c| c.before.as_deref())
            .collect();
        let loses_top = taken.iter().any(|r| is_top(r));
        if d.op == Op::Demote || loses_top {
            depends_on.extend(&promotions);
        }
        if d.op == Op::DeleteRole {
            depends_on.extend(released.get(&d.user).into_iter().flatten());
        }
        if d.op.is_removal() {
            depends_on.extend(changes_of.get(&d.user).into_iter().flatten());
        }
        // A live user known only by its email may be a person a create is meant for (an email
        // changed without `former_emails`): its logout and removal wait for every create, and
        // are skipped when one fails, so a person the files want is never removed.
        let after_creates = (d.op.is_removal() || d.op == Op::EndSessions)
            && d.user.starts_with("email:")
            && has_creates;
        if matches!(
            d.op,
            Op::Update | Op::Promote | Op::Grant | Op::Demote | Op::Revoke | Op::EndSessions
        ) {
            changes_of.entry(d.user.clone()).or_default().push(id);
        }
        match d.op {
            Op::CreateRole => {
                created_roles.insert(d.user.clone(), id);
            }
            op if op.brings_in() => {
                brought_in.insert(d.user.clone(), id);
            }
            _ => {}
        }
        if d.op == Op::Promote || given.iter().any(|r| is_top(r)) {
            promotions.push(id);
        }
        if matches!(d.op, Op::Revoke | Op::Delete | Op::Deactivate) {
            for role in taken {
                released.entry(role.to_string()).or_default().push(id);
            }
        }
        depends_on.sort_unstable();
        depends_on.dedup();
        actions.push(Action {
            id,
            op: d.op,
            user: d.user,
            live_id: d.live_id,
            changes: d.changes,
            depends_on,
            after_creates,
            reason: d.reason,
            unchanged: d.unchanged,
            on: None,
        });
    }
    actions
}

/// The roles an action gives its user: a grant's, a restore's set, a promotion's new role.
fn roles_given(d: &Draft) -> Vec<String> {
    let mut roles = Vec::new();
    for change in &d.changes {
        match (change.attribute.as_ref(), &change.after) {
            ("role", Some(role)) if d.op != Op::Create => roles.push(role.clone()),
            ("roles", Some(list)) => roles.extend(
                list.split(", ")
                    .filter(|r| !r.is_empty())
                    .map(str::to_string),
            ),
            _ => {}
        }
    }
    roles
}
