//! Guards: conditions under which a plan must not be applied.

use std::collections::BTreeSet;

use super::{Action, Blocked, Op, PlanOptions};
use crate::desired::format::{MaxRemovals, State};
use crate::model::{DesiredState, LiveState};
use crate::providers::Capabilities;

/// Accounts with fewer live users than this are not held to a percentage `max_removals`.
pub const MIN_POPULATION: usize = 20;

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
            .filter(|a| !a.op.is_role() && &a.user == own && strips(a))
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
    if let Some(builtin) = caps.builtin_admin {
        for action in actions
            .iter()
            .filter(|a| !a.op.is_role() && a.live_id.as_deref() == Some(builtin) && strips(a))
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
        let mut owners: BTreeSet<&str> = live
            .users
            .iter()
            .filter(|u| u.state != State::Absent && u.roles.contains(top))
            .map(|u| u.key.as_str())
            .collect();
        let had_owner = !owners.is_empty();
        for action in actions.iter().filter(|a| !a.op.is_role()) {
            let gives_top = action.changes.iter().any(|c| {
                (c.attribute == "role" && c.after.as_deref() == Some(top))
                    || (c.attribute == "roles"
                        && c.after
                            .as_deref()
                            .is_some_and(|l| l.split(", ").any(|r| r == top)))
            });
            if action.op != Op::Create && gives_top {
                owners.insert(&action.user);
            } else if strips(action) && (action.op != Op::Revoke || action.roles().contains(&top)) {
                owners.remove(action.user.as_str());
            }
        }
        if had_owner && owners.is_empty() {
            blocked.push(Blocked {
                guard: "last-owner".into(),
                message: format!("the plan would leave {} with no `{top}`", caps.name),
                hint: Some(format!("keep at least one user with `roles: [{top}]`")),
            });
        }
    }
    let removals = actions.iter().filter(|a| a.op.is_removal()).count();
    let population = live
        .users
        .iter()
        .filter(|u| u.state != State::Absent)
        .count();
    if let Some(max) = desired.policy.max_removals {
        // A share is only enforced on accounts large enough for it to mean something, so one
        // leaver never blocks a small team.
        let limit = match max {
            MaxRemovals::Count(n) => Some(n as usize),
            MaxRemovals::Percent(_) if population < MIN_POPULATION => None,
            MaxRemovals::Percent(p) => Some(population * usize::from(p) / 100),
        };
        if let Some(limit) = limit
            && removals > options.allow_removals.unwrap_or(0).max(limit)
        {
            blocked.push(Blocked {
                guard: "max-removals".into(),
                message: format!(
                    "the plan removes {removals} users, more than `max_removals` allows ({limit})"
                ),
                hint: Some(format!(
                    "check the removals, then run again with `--allow-removals {removals}`"
                )),
            });
        }
    }
    blocked
}
