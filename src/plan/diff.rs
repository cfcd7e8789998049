//! The planner: a pure function from desired and live state to a [`Plan`].
//!
//! No I/O, no clock, no randomness: the same inputs always give the same plan, in the same order.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, ActionId, Change, Op, Plan, guards};
use crate::desired::format::{State, Unmanaged};
use crate::model::{DesiredState, DesiredUser, LiveState, LiveUser};
use crate::providers::{Capabilities, Roles};

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
        diff_user(user, current, caps, &mut drafts);
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
        if matched.contains(user.key.as_str()) {
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
                    caps.absent_op
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

    // Changes to users outside `--target-user`/`--exclude-user` are counted, never hidden.
    let mut out_of_scope: Vec<&str> = drafts
        .iter()
        .filter(|d| !options.in_scope(&d.user))
        .map(|d| d.user.as_str())
        .collect();
    out_of_scope.dedup();
    let out_of_scope = out_of_scope.len();
    let out_of_scope_removals = drafts
        .iter()
        .filter(|d| d.op.is_removal() && !options.in_scope(&d.user))
        .count();
    drafts.retain(|d| options.in_scope(&d.user));
    let top_role = match caps.roles {
        Roles::OneOf(names) => names.first().copied(),
        _ => None,
    };
    let actions = order(drafts, top_role);
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
        blocked,
    }
}

/// The actions that bring one managed user from `live` to `desired`.
fn diff_user(
    desired: &DesiredUser,
    live: Option<&LiveUser>,
    caps: &Capabilities,
    out: &mut Vec<Draft>,
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
        (State::Absent, Some(live)) => {
            // Removed already, as far as this provider removes.
            if caps.absent_op == Op::Deactivate && live.state == State::Deactivated {
                return;
            }
            let reason = desired
                .state_at
                .as_ref()
                .map(|at| format!("`state: absent` in {at}"));
            out.push(draft(caps.absent_op, removal_changes(live, caps), reason));
        }
        (State::Absent, None) => {}
        (State::Deactivated, Some(live)) => {
            // A deactivated user's other attributes are left as they are.
            if live.state != State::Deactivated {
                let change = state_change(live.state, State::Deactivated);
                out.push(draft(Op::Deactivate, vec![change], None));
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
            out.push(draft(Op::Create, changes, None));
            // A new user gets the provider's default role; anything else is a follow-up.
            if let (Some(role), Roles::OneOf(names)) = (role, caps.roles) {
                let default = names.last().copied().unwrap_or_default();
                if role != default {
                    let op = role_op(names, default, &role);
                    out.push(draft(op, vec![role_change(default, &role)], None));
                }
            }
        }
        (_, Some(live)) => {
            let first = out.len();
            if live.state == State::Deactivated {
                let change = state_change(State::Deactivated, State::Active);
                out.push(draft(Op::Reactivate, vec![change], None));
            }
            let attributes = desired.attributes(caps.user_fields);
            let changes: Vec<Change> = attributes
                .iter()
                .filter(|(name, value)| live.attributes.get(name) != Some(value))
                .map(|(name, value)| Change {
                    attribute: (*name).into(),
                    before: live.attributes.get(name).cloned(),
                    after: Some(value.clone()),
                })
                .collect();
            // The identity, plus each managed attribute and role; what changes is subtracted.
            let mut managed = 1 + attributes.len();
            let mut changed = changes.len();
            if !changes.is_empty() {
                out.push(draft(Op::Update, changes, None));
            }
            if let (Some(role), Roles::OneOf(names)) = (desired_role(desired, caps), caps.roles) {
                managed += 1;
                let current = live.roles.iter().next().map_or("", String::as_str);
                if current != role {
                    changed += 1;
                    let op = role_op(names, current, &role);
                    out.push(draft(op, vec![role_change(current, &role)], None));
                }
            }
            if let Some(head) = out.get_mut(first) {
                head.unchanged = managed.saturating_sub(changed);
            }
        }
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
    if let Roles::OneOf(_) = caps.roles
        && let Some(role) = live.roles.iter().next()
    {
        changes.push(Change {
            attribute: "role".into(),
            before: Some(role.clone()),
            after: None,
        });
    }
    changes
}

/// Puts drafts in dependency order and links them: creates, reactivations, in-place updates,
/// promotions, demotions, removals. What is done to a user waits for its creation or
/// reactivation; demotions, and removals of
/// users holding `top_role`, wait for every promotion, so an account never drops to zero owners
/// along the way.
fn order(drafts: Vec<Draft>, top_role: Option<&str>) -> Vec<Action> {
    let stage = |op: Op| match op {
        Op::Create => 0,
        Op::Reactivate => 1,
        Op::Update => 2,
        Op::Promote => 3,
        Op::Demote => 4,
        Op::Deactivate | Op::Delete => 5,
    };
    let mut drafts = drafts;
    drafts.sort_by(|a, b| (stage(a.op), &a.user).cmp(&(stage(b.op), &b.user)));
    let mut actions: Vec<Action> = Vec::with_capacity(drafts.len());
    let mut created: BTreeMap<String, ActionId> = BTreeMap::new();
    let mut promotions: Vec<ActionId> = Vec::new();
    for (id, d) in drafts.into_iter().enumerate() {
        let mut depends_on = Vec::new();
        // A user exists, and can sign in, before anything else is done to it.
        if d.op != Op::Create
            && let Some(&first) = created.get(&d.user)
        {
            depends_on.push(first);
        }
        let removes_top = d.op.is_removal()
            && d.changes.iter().any(|c| {
                c.attribute == "role" && c.before.as_deref() == top_role && top_role.is_some()
            });
        if d.op == Op::Demote || removes_top {
            depends_on.extend(&promotions);
        }
        match d.op {
            Op::Create | Op::Reactivate => {
                created.insert(d.user.clone(), id);
            }
            Op::Promote => promotions.push(id),
            _ => {}
        }
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
