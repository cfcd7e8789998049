//! The planner: a pure function from desired and live state to a [`Plan`].
//!
//! No I/O, no clock, no randomness: the same inputs always give the same plan, in the same order.

use std::collections::{BTreeMap, BTreeSet};

use super::glob::glob;
use super::order::order;
use super::roles::{desired_role, plan_roles, role_change, role_op};
use super::{Blocked, Change, Op, Plan, UnmanagedUser, guards};
use crate::model::capabilities::{Capabilities, Removal, Roles};
use crate::model::vocab::{State, Unmanaged};
use crate::model::{DesiredState, DesiredUser, LiveState, LiveUser};

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
    /// Live users in no file are drift, whatever the policy (`--fail-on-unmanaged`).
    pub fail_on_unmanaged: bool,
}

impl PlanOptions {
    /// The `--target-user` patterns that match no user of the files or of the account: a
    /// scoped run with one of them would plan nothing and look like success.
    pub fn unmatched_targets(&self, desired: &DesiredState, live: &LiveState) -> Vec<&str> {
        // Compared one name at a time: an account of many users is not copied for this.
        let names = || {
            let wanted = desired
                .users
                .iter()
                .flat_map(|u| [Some(u.key.as_str()), u.email.as_ref().map(|e| e.as_str())]);
            let found = live
                .users
                .iter()
                .flat_map(|u| [Some(u.key.as_str()), u.email.as_deref()]);
            wanted.chain(found).flatten()
        };
        self.target_users
            .iter()
            .filter(|p| {
                let p = p.to_lowercase();
                !names().any(|n| glob(&p, &n.to_lowercase()))
            })
            .map(String::as_str)
            .collect()
    }

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

/// Live users by key. Where two share a key, the last listed stands for both.
struct ByKey<'l> {
    users: &'l [LiveUser],
    /// Places in `users`, by key and then place.
    order: Vec<usize>,
}

impl<'l> ByKey<'l> {
    fn new(users: &'l [LiveUser]) -> Self {
        let mut order: Vec<usize> = (0..users.len()).collect();
        // Stable, and linear where the list is sorted already, as fetched lists are.
        order.sort_by(|&a, &b| users[a].key.cmp(&users[b].key));
        ByKey { users, order }
    }

    /// The place in `order` of the user who stands for `key`.
    fn position(&self, key: &str) -> Option<usize> {
        let after = self
            .order
            .partition_point(|&i| self.users[i].key.as_str() <= key);
        let last = after.checked_sub(1)?;
        (self.users[self.order[last]].key == key).then_some(last)
    }

    fn get(&self, key: &str) -> Option<&'l LiveUser> {
        self.position(key).map(|at| &self.users[self.order[at]])
    }
}

/// Actions for one user, before ids are assigned.
pub(super) struct Draft {
    pub(super) op: Op,
    pub(super) user: String,
    pub(super) live_id: Option<String>,
    pub(super) changes: Vec<Change>,
    pub(super) reason: Option<String>,
    pub(super) unchanged: usize,
}

/// Computes what must change for `live` to match `desired`.
pub fn plan(desired: &DesiredState, live: &LiveState, options: &PlanOptions) -> Plan {
    let caps = desired.target.provider.capabilities();
    let live_by_key = ByKey::new(&live.users);
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
    // By place in `live_by_key`: whether a file names the live user.
    let mut matched = vec![false; live.users.len()];
    let mut matched_by_email = Vec::new();
    let live_by_email = by_email(desired, live, caps);
    for user in &desired.users {
        let mut current = live_by_key.get(&user.key);
        // Where the account's list may hide the identity, a live user is found by its email,
        // current or former.
        if current.is_none()
            && let Some(found) = user
                .email
                .iter()
                .chain(&user.details().former_emails)
                .find_map(|email| live_by_email.get(email.key().as_str()))
        {
            current = Some(found);
            matched_by_email.push(user.key.clone());
        }
        if let Some(at) = current.and_then(|c| live_by_key.position(&c.key)) {
            matched[at] = true;
        }
        let before = drafts.len();
        let mut cannot = Vec::new();
        diff_user(desired, user, current, caps, &mut drafts, &mut cannot);
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

    let mut unmanaged = Vec::new();
    for user in &live.users {
        // Users in a trash are removed already; they only matter when a file wants them back.
        let named = live_by_key
            .position(&user.key)
            .is_some_and(|at| matched[at]);
        if named || user.state == State::Absent {
            continue;
        }
        match desired.policy.unmanaged {
            Unmanaged::Ignore | Unmanaged::Report => unmanaged.push(unmanaged_user(user, caps)),
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

    // Where deactivating leaves sessions open, the reader is logged out just before, unless the
    // file says `force_logout: false`: an action of its own, shown in the plan and reported on
    // its own.
    if caps.logs_out {
        let created: BTreeSet<String> = drafts
            .iter()
            .filter(|d| d.op == Op::Create)
            .map(|d| d.user.clone())
            .collect();
        let logouts: Vec<Draft> = drafts
            .iter()
            .filter(|d| d.op == Op::Deactivate && !created.contains(&d.user))
            .filter(|d| {
                !desired
                    .users
                    .iter()
                    .any(|u| u.key == d.user && u.details().force_logout == Some(false))
            })
            .map(|d| Draft {
                op: Op::EndSessions,
                user: d.user.clone(),
                live_id: d.live_id.clone(),
                changes: vec![Change {
                    attribute: "sessions".into(),
                    before: Some("open".into()),
                    after: None,
                }],
                unchanged: 0,
                reason: None,
            })
            .collect();
        drafts.extend(logouts);
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
    let mut actions = order(drafts, caps.admin_role);
    let mut access_effects = Vec::new();
    let mut refused: Vec<Blocked> = Vec::new();
    // A run narrowed to some users cannot change groups and permissions that reach others.
    let narrowed = !options.target_users.is_empty() || !options.exclude_users.is_empty();
    let access_skipped = narrowed && super::access::scope(desired).is_some();
    if !access_skipped {
        match super::access::actions(desired, live, &actions, &|key| protected(key, None)) {
            Ok(Some((more, effects))) => {
                refused.extend(super::access::own_access_guard(&effects, live));
                refused.extend(super::access::protect_guard(&more, &effects, &|key| {
                    protected(key, None)
                }));
                actions.extend(more);
                access_effects = effects;
            }
            Ok(None) => {}
            Err(problems) => {
                refused = problems
                    .into_iter()
                    .map(|message| Blocked {
                        guard: "access".into(),
                        message,
                        hint: None,
                    })
                    .collect();
            }
        }
    }
    let mut blocked = guards::check(desired, live, &actions, caps, options);
    blocked.extend(refused);
    protected_users.sort();
    unmanaged.sort_by(|a: &UnmanagedUser, b| (!a.admin, &a.user).cmp(&(!b.admin, &b.user)));
    Plan {
        actions,
        unmanaged,
        unmanaged_drift: desired.policy.unmanaged == Unmanaged::Report || options.fail_on_unmanaged,
        protected: protected_users,
        matched_by_email,
        unchanged,
        out_of_scope,
        out_of_scope_removals,
        unfixable,
        access_effects,
        access_skipped,
        blocked,
    }
}

/// A live user in no file, as plans list it: its role or admin flag, and its state.
fn unmanaged_user(user: &LiveUser, caps: &Capabilities) -> UnmanagedUser {
    let flag = user.attributes.get("admin").is_some_and(|v| v == "true");
    let (role, admin) = match caps.roles {
        Roles::None => (flag.then(|| "admin".to_string()), flag),
        _ => (
            (!user.roles.is_empty())
                .then(|| user.roles.iter().cloned().collect::<Vec<_>>().join(", ")),
            caps.admin_role.is_some_and(|a| user.roles.contains(a)),
        ),
    };
    UnmanagedUser {
        user: super::display_key(&user.key).to_string(),
        role,
        admin,
        state: user.state.to_string(),
    }
}

/// The actions that bring one managed user from `live` to `desired`.
fn diff_user(
    set: &DesiredState,
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
                .state_origin
                .map(|origin| format!("`state: absent` in {}", set.at(origin)));
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
            if desired.details().password.is_some() {
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
            .iter()
            .filter(|r| !live.roles.contains(r))
            .map(|r| role_change("", r))
            .collect();
        let revokes: Vec<Change> = live
            .roles
            .iter()
            .filter(|r| !wanted.contains(*r))
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

/// The live users a file's user may be found by email, where the account's list may hide the
/// identity: every live user it hides it for, and every active one it shows another identity
/// for (whose identity the update then rewrites, shown in the plan). A deactivated user under
/// another identity is someone else. An email two live users share names neither.
fn by_email<'l>(
    desired: &DesiredState,
    live: &'l LiveState,
    caps: &Capabilities,
) -> BTreeMap<String, &'l LiveUser> {
    let mut found: BTreeMap<String, Option<&LiveUser>> = BTreeMap::new();
    if caps.lists_identity {
        return BTreeMap::new();
    }
    let named: BTreeSet<&str> = desired.users.iter().map(|u| u.key.as_str()).collect();
    let candidate = |u: &&LiveUser| {
        !named.contains(u.key.as_str()) && (u.key.starts_with("email:") || u.state == State::Active)
    };
    for user in live.users.iter().filter(candidate) {
        if let Some(email) = &user.email {
            found
                .entry(email.trim().to_lowercase())
                .and_modify(|seen| *seen = None)
                .or_insert(Some(user));
        }
    }
    found
        .into_iter()
        .filter_map(|(email, user)| Some((email, user?)))
        .collect()
}

/// The managed attributes of `desired` that differ from `live`; where the live user was found by
/// email under another identity the account shows, the identity too.
fn attribute_changes(desired: &DesiredUser, live: &LiveUser, caps: &Capabilities) -> Vec<Change> {
    let mut changes = Vec::new();
    if !live.key.starts_with("email:") && live.key != desired.key {
        changes.push(Change {
            attribute: caps.identity.into(),
            before: Some(live.key.clone()),
            after: desired.identity(caps.identity),
        });
    }
    changes.extend(
        desired
            .attributes(caps.user_fields)
            .into_iter()
            .filter(|(name, value)| live.attributes.get(name) != Some(value))
            .map(|(name, value)| Change {
                attribute: name.into(),
                before: live.attributes.get(name).cloned(),
                after: Some(value),
            }),
    );
    changes
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
