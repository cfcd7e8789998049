//! Guards: conditions under which a plan must not be applied.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, Blocked, Op, PlanOptions};
use crate::model::capabilities::Capabilities;
use crate::model::vocab::{MaxRemovals, State};
use crate::model::{DesiredState, LiveState};

/// Accounts with fewer live users than this are not held to a percentage `max_removals`.
pub const MIN_POPULATION: usize = 20;

/// The most removals a run may make when the policy sets no `max_removals`: 10 % of the live
/// users, rounded up, and never fewer than 5.
pub fn default_max_removals(population: usize) -> usize {
    population.div_ceil(10).max(5)
}

/// Checks a plan's actions against the guards, in a fixed order.
pub fn check(
    desired: &DesiredState,
    live: &LiveState,
    actions: &[Action],
    caps: &Capabilities,
    options: &PlanOptions,
) -> Vec<Blocked> {
    let mut blocked = Vec::new();
    let admin = caps.admin_role;
    // Whether an action takes the account's admin role from its user, or the user itself.
    let strips = |action: &Action| {
        action.op.is_removal()
            || action.op == Op::Demote
            || (action.op == Op::Revoke && admin.is_some_and(|a| action.roles().contains(&a)))
    };
    if let Some(own) = &live.own_key {
        for action in actions
            .iter()
            .filter(|a| a.op.is_user() && &a.user == own && strips(a))
        {
            blocked.push(Blocked {
                guard: "own-user".into(),
                message: format!(
                    "`{}` is the user rollcall signs in as; it is never removed or demoted ({})",
                    action.subject(),
                    action.op.name()
                ),
                hint: Some(format!(
                    "keep `{own}` in the files as it is, or add it to `policy.protect`"
                )),
            });
        }
    }
    // Lifting a block takes the admin role: without it the service answers yes and changes
    // nothing, so the plan says so now rather than the apply reporting what did not happen.
    if let (Some(admin), Some(own)) = (admin, &live.own_key) {
        let signed_in = live.users.iter().find(|u| &u.key == own);
        let can_unblock = signed_in.is_none_or(|u| u.roles.contains(admin));
        for action in actions.iter().filter(|a| a.op == Op::Reactivate) {
            let blocked_user = live.users.iter().any(|u| u.key == action.user && u.blocked);
            if blocked_user && !can_unblock {
                blocked.push(Blocked {
                    guard: "unblock-needs-admin".into(),
                    message: format!(
                        "`{}` is blocked, and only a user with the `{admin}` role can lift a block; the user rollcall signs in as has not",
                        action.subject()
                    ),
                    hint: Some(format!(
                        "sign in as a user holding `{admin}`, or lift the block in {} first",
                        caps.name
                    )),
                });
            }
        }
    }
    if let Some(builtin) = caps.builtin_admin {
        for action in actions
            .iter()
            .filter(|a| a.op.is_user() && a.live_id.as_deref() == Some(builtin) && strips(a))
        {
            blocked.push(Blocked {
                guard: "built-in-admin".into(),
                message: format!(
                    "`{}` is {}'s built-in administrator (id {builtin}); it is never removed or stripped of `{}` ({})",
                    action.subject(),
                    caps.name,
                    admin.unwrap_or("its role"),
                    action.op.name()
                ),
                hint: Some(format!(
                    "keep `{}` in the files as it is, or add it to `policy.protect`",
                    action.subject()
                )),
            });
        }
    }
    if let Some(top) = admin {
        let changed = || actions.iter().filter(|a| a.op.is_user());
        // A user found by email (or a former email) carries the files' key; its live record is
        // the one with its live id.
        let ids: BTreeSet<&str> = changed().filter_map(|a| a.live_id.as_deref()).collect();
        let live_key: BTreeMap<&str, &str> = live
            .users
            .iter()
            .filter(|u| ids.contains(u.id.as_str()))
            .map(|u| (u.id.as_str(), u.key.as_str()))
            .collect();
        let keys: Vec<&str> = changed()
            .map(|action| {
                action
                    .live_id
                    .as_deref()
                    .and_then(|id| live_key.get(id).copied())
                    .unwrap_or(action.user.as_str())
            })
            .collect();
        let touched: BTreeSet<&str> = keys.iter().copied().collect();
        // Each user's (active, holds `top`) once the plan is through; only active holders run
        // the account. Only holders and the users the plan changes are kept: the others cannot
        // count, and an account may have a hundred thousand of them. Where two live users share
        // a key, the last listed stands for both.
        let mut after: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
        for u in &live.users {
            let key = u.key.as_str();
            let flag = u.attributes.get(top).is_some_and(|v| v == "true");
            let holds = u.roles.contains(top) || flag;
            if holds || touched.contains(key) || after.contains_key(key) {
                after.insert(key, (u.state == State::Active, holds));
            }
        }
        let holders = |after: &BTreeMap<&str, (bool, bool)>| {
            after
                .values()
                .filter(|&&(active, holds)| active && holds)
                .count()
        };
        let before = holders(&after);
        let state_active = |a: &Action| a.after("state") != Some(State::Deactivated.as_str());
        for (action, key) in changed().zip(keys) {
            let entry = after.entry(key).or_insert((false, false));
            let roles = action.roles();
            match action.op {
                Op::Create => {
                    let holds =
                        action.after("role") == Some(top) || action.after(top) == Some("true");
                    *entry = (state_active(action), holds);
                }
                // A provider without roles marks its administrators with a flag.
                Op::Update if action.changes.iter().any(|c| c.attribute == top) => {
                    entry.1 = action.after(top) == Some("true");
                }
                Op::Restore => {
                    let list = action.after("roles").unwrap_or_default();
                    *entry = (state_active(action), list.split(", ").any(|r| r == top));
                }
                Op::Reactivate => entry.0 = true,
                Op::Deactivate | Op::Delete => entry.0 = false,
                Op::Promote | Op::Demote => entry.1 = action.after("role") == Some(top),
                Op::Grant if roles.contains(&top) => entry.1 = true,
                Op::Revoke if roles.contains(&top) => entry.1 = false,
                _ => {}
            }
        }
        // Never below `min_admins`; an account already below it is never brought lower.
        let min = desired.policy.min_admins as usize;
        let left = holders(&after);
        if left < min && left < before {
            let holder = if caps.roles == crate::model::capabilities::Roles::None {
                format!("active user with `{top}: true`")
            } else {
                format!("user with `roles: [{top}]`")
            };
            let (message, hint) = if left == 0 {
                (
                    format!("the plan would leave {} with no `{top}`", caps.name),
                    format!("keep at least one {holder}"),
                )
            } else {
                (
                    format!(
                        "the plan would leave {} with {left} active `{top}` of {before}; `policy.min_admins` keeps at least {min}",
                        caps.name
                    ),
                    format!("keep at least {min} of each {holder}, or lower `min_admins`"),
                )
            };
            blocked.push(Blocked {
                guard: "last-owner".into(),
                message,
                hint: Some(hint),
            });
        }
    }
    let removals = actions.iter().filter(|a| a.op.is_removal()).count();
    let population = live
        .users
        .iter()
        .filter(|u| u.state != State::Absent)
        .count();
    // A share is only enforced on accounts large enough for it to mean something, so one
    // leaver never blocks a small team. Without a policy, 10 % and never fewer than 5.
    let (limit, source) = match desired.policy.max_removals {
        Some(MaxRemovals::Count(n)) => (Some(n as usize), "`max_removals`"),
        Some(MaxRemovals::Percent(_)) if population < MIN_POPULATION => (None, ""),
        Some(MaxRemovals::Percent(p)) => {
            (Some(population * usize::from(p) / 100), "`max_removals`")
        }
        None => (
            Some(default_max_removals(population)),
            "the default cap (10 % of live users, at least 5)",
        ),
    };
    if let Some(limit) = limit
        && removals > options.allow_removals.unwrap_or(0).max(limit)
    {
        let allowed = match options.allow_removals {
            Some(n) if n > limit => format!("`--allow-removals {n}` allows"),
            _ => format!("{source} allows"),
        };
        blocked.push(Blocked {
            guard: "max-removals".into(),
            message: format!(
                "the plan removes {removals} users; {allowed} at most {}",
                options.allow_removals.unwrap_or(0).max(limit)
            ),
            hint: Some(format!(
                "check the removals, then run again with `--allow-removals {removals}`: this run may then remove up to {removals} users in total"
            )),
        });
    }
    blocked
}
