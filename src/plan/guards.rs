//! Guards: conditions under which a plan must not be applied.

use std::collections::BTreeSet;

use super::{Action, Blocked, Op, PlanOptions};
use crate::desired::format::MaxRemovals;
use crate::model::{DesiredState, LiveState};
use crate::providers::{Capabilities, Roles};

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
    if let Some(own) = &live.own_key {
        for action in actions.iter().filter(|a| &a.user == own) {
            if action.op.is_removal() || action.op == Op::Demote {
                blocked.push(Blocked {
                    guard: "own-user".into(),
                    message: format!(
                        "`{own}` is the user rollcall signs in as; it is never removed or demoted"
                    ),
                    hint: Some(format!(
                        "keep `{own}` in the files as it is, or add it to `policy.protect`"
                    )),
                });
            }
        }
    }
    if let Roles::OneOf(names) = caps.roles
        && let Some(top) = names.first()
    {
        let mut owners: BTreeSet<&str> = live
            .users
            .iter()
            .filter(|u| u.roles.contains(*top))
            .map(|u| u.key.as_str())
            .collect();
        let had_owner = !owners.is_empty();
        for action in actions {
            match action.op {
                Op::Promote if action.after("role") == Some(top) => {
                    owners.insert(&action.user);
                }
                Op::Demote | Op::Delete | Op::Deactivate => {
                    owners.remove(action.user.as_str());
                }
                _ => {}
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
    if let Some(max) = desired.policy.max_removals {
        // A share is only enforced on accounts large enough for it to mean something, so one
        // leaver never blocks a small team.
        let limit = match max {
            MaxRemovals::Count(n) => Some(n as usize),
            MaxRemovals::Percent(_) if live.users.len() < MIN_POPULATION => None,
            MaxRemovals::Percent(p) => Some(live.users.len() * usize::from(p) / 100),
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
