//! The planner: a pure function from desired and live state to a [`Plan`].
//!
//! No I/O, no clock, no randomness: the same inputs always give the same plan, in the same order.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, ActionId, Change, Op, Plan, guards};
use crate::model::capabilities::{Capabilities, Removal, Roles};
use crate::model::vocab::{State, Unmanaged, UnmanagedRoles};
use crate::model::{DesiredState, DesiredUser, LiveRole, LiveState, LiveUser};

/// What a plan shows in place of a secret.
pub const SENSITIVE: &str = "(sensitive value)";

/// Choices made on the command line that shape a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Removals the operator explicitly allows beyond `max_removals`.
    pub allow_removals: Option<usize>,
    /// Only users matching one of these patterns are planned (all when empty).
    pub target_users: Vec<String>,
    /// Users matching one of these patterns are left out.
    pub exclude_users: Vec<String>,
}

impl PlanOptions {
    /// Whether a user (by natural key) is in the scope of this run.
    pub fn in_scope(&self, key: &str) -> bool {
        let key = key.to_lowercase();
        let matches = |patterns: &[String]| patterns.iter().any(|p| glob(&p.to_lowercase(), &key));
        (self.target_users.is_empty() || matches(&self.target_users))
            && !matches(&self.exclude_users)
    }
}

/// The operation that carries out `state: absent` on this provider.
fn absent_op(caps: &Capabilities) -> Op {
    match caps.absent {
        Removal::Delete => Op::Delete,
        Removal::Deactivate => Op::Deactivate,
    }
}

/// Actions for one user, before ids are assigned.
struct Draft {
    op: Op,
    user: String,
    live_id: Option<String>,
    changes: Vec<Change>,
    reason: Option<String>,
    unchanged: usize,
}

/// Computes what must change for `live` to match `desired`.
pub fn plan(desired: &DesiredState, live: &LiveState, options: &PlanOptions) -> Plan {
    let caps = desired.target.provider.capabilities();
    let live_by_key: BTreeMap<&str, &LiveUser> =
        live.users.iter().map(|u| (u.key.as_str(), u)).collect();
    let protected = |key: &str, email: Option<&str>| {
        desired.policy.protect.iter().any(|pattern| {
            glob(pattern, &key.to_lowercase())
                || email.is_some_and(|e| glob(pattern, &e.to_lowercase()))
        })
    };

    let mut drafts = Vec::new();
    let mut unfixable = Vec::new();
    let mut protected_users = Vec::new();
    let mut unchanged = 0;
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    let mut matched_by_email = Vec::new();
    for user in &desired.users {
        let mut current = live_by_key.get(user.key.as_str()).copied();
        // A live user whose natural key the account does not return is found by email.
        if current.is_none()
            && caps.identity != "email"
            && let Some(email) = &user.email
            && let Some(found) = live_by_key.get(format!("email:{}", email.key()).as_str())
        {
            current = Some(found);
            matched_by_email.push(user.key.clone());
        }
        if let Some(current) = current {
            matched.insert(current.key.as_str());
        }
        let before = drafts.len();
        let mut cannot = Vec::new();
        diff_user(user, current, caps, &mut drafts, &mut cannot);
        if !protected(&user.key, user.email.as_ref().map(|e| e.as_str()))
            && options.in_scope(&user.key)
        {
            unfixable.extend(cannot);
        }
        let email = current
            .and_then(|c| c.email.as_deref())
            .or(user.email.as_ref().map(|e| e.as_str()));
        if drafts.len() > before && protected(&user.key, email) {
            drafts.truncate(before);
            protected_users.push(user.key.clone());
        } else if drafts.len() == before && current.is_some() {
            unchanged += 1;
        }
    }

    let mut unmanaged_ignored = 0;
    for user in &live.users {
        // Users in a trash are removed already; they only matter when a file wants them back.
        if matched.contains(user.key.as_str()) || user.state == State::Absent {
            continue;
        }
        match desired.policy.unmanaged {
            Unmanaged::Ignore => unmanaged_ignored += 1,
            _ if protected(&user.key, user.email.as_deref()) => {
                protected_users.push(user.key.clone());
            }
            policy @ (Unmanaged::Delete | Unmanaged::Deactivate) => {
                // Deleting means the provider's removal, which may itself be deactivation.
                let op = if policy == Unmanaged::Delete {
                    absent_op(caps)
                } else {
                    Op::Deactivate
                };
                if op == Op::Deactivate && user.state == State::Deactivated {
                    continue;
                }
                drafts.push(Draft {
                    op,
                    user: user.key.clone(),
                    live_id: Some(user.id.clone()),
                    changes: removal_changes(user, caps),
                    reason: Some(format!(
                        "in no file, and the policy is `unmanaged: {}`",
                        desired.policy.unmanaged
                    )),
                    unchanged: 0,
                });
            }
        }
    }

    if caps.roles == Roles::Declared
        && let Some(live_roles) = &live.roles
    {
        plan_roles(desired, live, live_roles, &mut drafts, &mut protected_users);
    }

    // Changes to users outside `--target-user`/`--exclude-user` are counted, never hidden.
    let in_scope = |d: &Draft| d.op.is_role() || options.in_scope(&d.user);
    let mut out_of_scope: Vec<&str> = drafts
        .iter()
        .filter(|d| !in_scope(d))
        .map(|d| d.user.as_str())
        .collect();
    out_of_scope.dedup();
    let out_of_scope = out_of_scope.len();
    let out_of_scope_removals = drafts
        .iter()
        .filter(|d| d.op.is_removal() && !in_scope(d))
        .count();
    drafts.retain(in_scope);
    // A role is deleted only when every holder is in scope, so no grant goes unplanned.
    drafts.retain(|d| {
        d.op != Op::DeleteRole
            || live
                .users
                .iter()
                .filter(|u| u.state != State::Absent && u.roles.contains(&d.user))
                .all(|u| options.in_scope(&u.key))
    });
    let actions = order(drafts, caps.admin_role);
    let blocked = guards::check(desired, live, &actions, caps, options);
    protected_users.sort();
    Plan {
        actions,
        unmanaged_ignored,
        protected: protected_users,
        matched_by_email,
        unchanged,
        out_of_scope,
        out_of_scope_removals,
        unfixable,
        blocked,
    }
}

/// The actions that bring one managed user from `live` to `desired`.
fn diff_user(
    desired: &DesiredUser,
    live: Option<&LiveUser>,
    caps: &Capabilities,
    out: &mut Vec<Draft>,
    unfixable: &mut Vec<String>,
) {
    let draft = |op, changes, reason| Draft {
        op,
        user: desired.key.clone(),
        live_id: live.map(|l| l.id.clone()),
        changes,
        reason,
        unchanged: 0,
    };
    let state_change = |before: State, after: State| Change {
        attribute: "state".into(),
        before: Some(before.to_string()),
        after: Some(after.to_string()),
    };
    match (desired.state, live) {
        // In the trash already.
        (State::Absent, Some(live)) if live.state == State::Absent => {}
        (State::Absent, Some(live)) => {
            // Removed already, as far as this provider removes.
            if caps.absent == Removal::Deactivate && live.state == State::Deactivated {
                return;
            }
            let reason = desired
                .state_at
                .as_ref()
                .map(|at| format!("`state: absent` in {at}"));
            out.push(draft(absent_op(caps), removal_changes(live, caps), reason));
        }
        (State::Absent, None) => {}
        (_, Some(live)) if live.state == State::Absent => {
            // Restored, not re-created: the trash keeps the username reserved. The restore
            // sets the state and the whole role set, since the trash does not show roles.
            let mut changes = vec![state_change(State::Absent, desired.state)];
            if let (Some(roles), Roles::Declared) = (&desired.roles, caps.roles) {
                changes.push(Change {
                    attribute: "roles".into(),
                    before: None,
                    after: Some(roles.iter().cloned().collect::<Vec<_>>().join(", ")),
                });
            }
            out.push(draft(Op::Restore, changes, None));
            let changes = attribute_changes(desired, live, caps);
            if !changes.is_empty() {
                out.push(draft(Op::Update, changes, None));
            }
        }
        (_, None) => {
            let identity = Change {
                attribute: caps.identity.into(),
                before: None,
                after: desired.identity(caps.identity),
            };
            let mut changes = vec![identity];
            changes.extend(desired.attributes(caps.user_fields).into_iter().map(
                |(name, value)| Change {
                    attribute: name.into(),
                    before: None,
                    after: Some(value),
                },
            ));
            let role = desired_role(desired, caps);
            if let Some(role) = &role {
                changes.push(Change {
                    attribute: "role".into(),
                    before: None,
                    after: Some(role.clone()),
                });
            }
            // Sent on create only, and never shown: the plan says only that there is one.
            if desired.password.is_some() {
                changes.push(Change {
                    attribute: "password".into(),
                    before: None,
                    after: Some(SENSITIVE.into()),
                });
            }
            // An account that should exist but not sign in is created switched off where the
            // provider allows, else created and then switched off.
            let deactivated = desired.state == State::Deactivated;
            if deactivated && caps.create_sets_state {
                changes.push(Change {
                    attribute: "state".into(),
                    before: None,
                    after: Some(State::Deactivated.to_string()),
                });
            }
            out.push(draft(Op::Create, changes, None));
            if deactivated && !caps.create_sets_state {
                let change = state_change(State::Active, State::Deactivated);
                out.push(draft(Op::Deactivate, vec![change], None));
            }
            if caps.roles == Roles::Declared
                && let Some(roles) = desired.roles.as_ref().filter(|r| !r.is_empty())
            {
                let grants = roles.iter().map(|r| role_change("", r)).collect();
                out.push(draft(Op::Grant, grants, None));
            }
            // A new user gets the provider's default role; anything else is a follow-up.
            if let (Some(role), Roles::OneOf(names)) = (role, caps.roles) {
                let default = names.last().copied().unwrap_or_default();
                if role != default {
                    let op = role_op(names, default, &role);
                    out.push(draft(op, vec![role_change(default, &role)], None));
                }
            }
        }
        (State::Deactivated, Some(live)) => {
            let first = out.len();
            if live.state != State::Deactivated {
                let change = state_change(live.state, State::Deactivated);
                out.push(draft(Op::Deactivate, vec![change], None));
            }
            // A deactivated user's fields and roles are managed too, where the provider can
            // change them; where it cannot, each difference is reported, never hidden.
            if caps.updates_deactivated || live.state != State::Deactivated {
                reconcile(desired, live, caps, out, first);
            } else {
                let mut rest = Vec::new();
                reconcile(desired, live, caps, &mut rest, 0);
                for change in rest.iter().flat_map(|d| &d.changes) {
                    let show = |v: &Option<String>| {
                        v.as_deref().map_or("none".into(), |v| format!("{v:?}"))
                    };
                    unfixable.push(format!(
                        "{}: {} {} -> {} ({} cannot change a deactivated user)",
                        super::display_key(&desired.key),
                        change.attribute,
                        show(&change.before),
                        show(&change.after),
                        caps.name
                    ));
                }
            }
        }
        (_, Some(live)) => {
            let first = out.len();
            if live.state == State::Deactivated {
                let change = state_change(State::Deactivated, State::Active);
                out.push(draft(Op::Reactivate, vec![change], None));
            }
            reconcile(desired, live, caps, out, first);
        }
    }
}

/// The updates and role changes that bring a live user's fields and roles to the files'. The
/// count of unchanged attributes goes on the user's first draft, from `first` on.
fn reconcile(
    desired: &DesiredUser,
    live: &LiveUser,
    caps: &Capabilities,
    out: &mut Vec<Draft>,
    first: usize,
) {
    let draft = |op, changes| Draft {
        op,
        user: desired.key.clone(),
        live_id: Some(live.id.clone()),
        changes,
        reason: None,
        unchanged: 0,
    };
    let changes = attribute_changes(desired, live, caps);
    // The identity, plus each managed attribute and role; what changes is subtracted.
    let mut managed = 1 + desired.attributes(caps.user_fields).len();
    let mut changed = changes.len();
    if !changes.is_empty() {
        out.push(draft(Op::Update, changes));
    }
    if let (Some(role), Roles::OneOf(names)) = (desired_role(desired, caps), caps.roles) {
        managed += 1;
        let current = live.roles.iter().next().map_or("", String::as_str);
        if current != role {
            changed += 1;
            let op = role_op(names, current, &role);
            out.push(draft(op, vec![role_change(current, &role)]));
        }
    }
    if let (Some(wanted), Roles::Declared) = (&desired.roles, caps.roles) {
        managed += 1;
        let grants: Vec<Change> = wanted
            .difference(&live.roles)
            .map(|r| role_change("", r))
            .collect();
        let revokes: Vec<Change> = live
            .roles
            .difference(wanted)
            .map(|r| Change {
                attribute: "role".into(),
                before: Some(r.clone()),
                after: None,
            })
            .collect();
        if !grants.is_empty() || !revokes.is_empty() {
            changed += 1;
        }
        if !grants.is_empty() {
            out.push(draft(Op::Grant, grants));
        }
        if !revokes.is_empty() {
            out.push(draft(Op::Revoke, revokes));
        }
    }
    if let Some(head) = out.get_mut(first) {
        head.unchanged = managed.saturating_sub(changed);
    }
}

/// The managed attributes of `desired` that differ from `live`.
fn attribute_changes(desired: &DesiredUser, live: &LiveUser, caps: &Capabilities) -> Vec<Change> {
    desired
        .attributes(caps.user_fields)
        .into_iter()
        .filter(|(name, value)| live.attributes.get(name) != Some(value))
        .map(|(name, value)| Change {
            attribute: name.into(),
            before: live.attributes.get(name).cloned(),
            after: Some(value),
        })
        .collect()
}

/// Roles as resources: declared roles the account lacks are created; under
/// `unmanaged_roles: delete`, roles no file declares are revoked from every holder, then deleted.
fn plan_roles(
    desired: &DesiredState,
    live: &LiveState,
    live_roles: &[LiveRole],
    drafts: &mut Vec<Draft>,
    protected: &mut Vec<String>,
) {
    for role in &desired.roles {
        if let Some(live) = live_roles.iter().find(|r| r.name == role.name) {
            // A description the files leave out is not managed.
            if role.description.is_some() && role.description != live.description {
                drafts.push(Draft {
                    op: Op::UpdateRole,
                    user: role.name.clone(),
                    live_id: Some(live.id.clone()),
                    changes: vec![Change {
                        attribute: "description".into(),
                        before: live.description.clone(),
                        after: role.description.clone(),
                    }],
                    reason: None,
                    unchanged: 1,
                });
            }
            continue;
        }
        let mut changes = vec![Change {
            attribute: "name".into(),
            before: None,
            after: Some(role.name.clone()),
        }];
        if let Some(description) = &role.description {
            changes.push(Change {
                attribute: "description".into(),
                before: None,
                after: Some(description.clone()),
            });
        }
        drafts.push(Draft {
            op: Op::CreateRole,
            user: role.name.clone(),
            live_id: None,
            changes,
            reason: None,
            unchanged: 0,
        });
    }
    if desired.policy.unmanaged_roles != UnmanagedRoles::Delete {
        return;
    }
    let declared: BTreeSet<&str> = desired.roles.iter().map(|r| r.name.as_str()).collect();
    let protects = |user: &LiveUser| {
        desired.policy.protect.iter().any(|p| {
            glob(p, &user.key.to_lowercase())
                || user
                    .email
                    .as_deref()
                    .is_some_and(|e| glob(p, &e.to_lowercase()))
        })
    };
    for role in live_roles
        .iter()
        .filter(|r| !r.builtin && !declared.contains(r.name.as_str()))
    {
        let holders: Vec<&LiveUser> = live
            .users
            .iter()
            .filter(|u| u.state != State::Absent && u.roles.contains(&role.name))
            .collect();
        // A protected user keeps every role it holds, so the role stays.
        if holders.iter().any(|u| protects(u)) {
            protected.push(format!("role {}", role.name));
            continue;
        }
        let reason = format!(
            "role \"{}\" is in no file, and the policy is `unmanaged_roles: delete`",
            role.name
        );
        for holder in holders {
            let planned = drafts.iter_mut().find(|d| {
                d.user == holder.key && matches!(d.op, Op::Revoke | Op::Delete | Op::Deactivate)
            });
            let revoke = Change {
                attribute: "role".into(),
                before: Some(role.name.clone()),
                after: None,
            };
            match planned {
                // Removed users keep their roles in the trash; the role's deletion drops them.
                Some(d) if d.op == Op::Delete => {}
                Some(d) if d.op == Op::Revoke => {
                    if !d.changes.contains(&revoke) {
                        d.changes.push(revoke);
                    }
                }
                _ => drafts.push(Draft {
                    op: Op::Revoke,
                    user: holder.key.clone(),
                    live_id: Some(holder.id.clone()),
                    changes: vec![revoke],
                    reason: Some(reason.clone()),
                    unchanged: 0,
                }),
            }
        }
        drafts.push(Draft {
            op: Op::DeleteRole,
            user: role.name.clone(),
            live_id: Some(role.id.clone()),
            changes: vec![Change {
                attribute: "name".into(),
                before: Some(role.name.clone()),
                after: None,
            }],
            reason: Some(reason),
            unchanged: 0,
        });
    }
}

fn role_change(before: &str, after: &str) -> Change {
    Change {
        attribute: "role".into(),
        before: (!before.is_empty()).then(|| before.to_string()),
        after: Some(after.to_string()),
    }
}

/// The single role a user should have, for providers with a fixed set.
fn desired_role(desired: &DesiredUser, caps: &Capabilities) -> Option<String> {
    match caps.roles {
        Roles::OneOf(_) => desired.roles.as_ref()?.iter().next().cloned(),
        _ => None,
    }
}

/// Promotion or demotion: roles are listed from most to least powerful.
fn role_op(names: &[&str], from: &str, to: &str) -> Op {
    let rank = |r: &str| names.iter().position(|n| *n == r).unwrap_or(names.len());
    if rank(to) < rank(from) {
        Op::Promote
    } else {
        Op::Demote
    }
}

/// What a removal shows: the attributes the user had.
fn removal_changes(live: &LiveUser, caps: &Capabilities) -> Vec<Change> {
    let mut changes = vec![Change {
        attribute: "email".into(),
        before: live.email.clone(),
        after: None,
    }];
    if caps.roles != Roles::None {
        changes.extend(live.roles.iter().map(|role| Change {
            attribute: "role".into(),
            before: Some(role.clone()),
            after: None,
        }));
    }
    changes
}

/// Puts drafts in dependency order and links them: role creations, user creations and
/// restores, reactivations, in-place updates, promotions and grants, demotions and revokes,
/// removals, role deletions.
///
/// What is done to a user waits for its creation, restore or reactivation. A grant waits for
/// the roles it gives to be created. Demotions, revokes of `top_role` and removals of its
/// holders wait for every promotion to it, so an account never drops to zero owners or admins
/// along the way. A role's deletion waits for every revoke and removal of its holders.
fn order(drafts: Vec<Draft>, top_role: Option<&str>) -> Vec<Action> {
    let stage = |op: Op| match op {
        Op::CreateRole | Op::UpdateRole => 0,
        Op::Create | Op::Restore => 1,
        Op::Reactivate => 2,
        Op::Update => 3,
        Op::Promote | Op::Grant => 4,
        Op::Demote | Op::Revoke => 5,
        Op::Deactivate | Op::Delete => 6,
        Op::DeleteRole => 7,
    };
    let mut drafts = drafts;
    drafts.sort_by(|a, b| (stage(a.op), &a.user).cmp(&(stage(b.op), &b.user)));
    let mut actions: Vec<Action> = Vec::with_capacity(drafts.len());
    let mut brought_in: BTreeMap<String, ActionId> = BTreeMap::new();
    let mut created_roles: BTreeMap<String, ActionId> = BTreeMap::new();
    let mut promotions: Vec<ActionId> = Vec::new();
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
        if matches!(
            d.op,
            Op::Update | Op::Promote | Op::Grant | Op::Demote | Op::Revoke
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
            reason: d.reason,
            unchanged: d.unchanged,
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

/// Matches `text` against a pattern where `*` is any run of characters and `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("*@svc.acme.org", "bot@svc.acme.org"));
        assert!(!glob("*@svc.acme.org", "bot@acme.org"));
        assert!(glob("owner@acme.org", "owner@acme.org"));
        assert!(glob("a?c*", "abcdef"));
        assert!(glob("*", ""));
        assert!(!glob("a*b", "acbx"));
    }
}
