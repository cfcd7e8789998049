//! Roles: declared roles as resources (BEdita), and the one role of a fixed set (Piwik PRO).

use std::collections::BTreeSet;

use super::diff::Draft;
use super::glob::glob;
use super::{Change, Op};
use crate::model::capabilities::{Capabilities, Roles};
use crate::model::vocab::{State, UnmanagedRoles};
use crate::model::{DesiredState, DesiredUser, LiveRole, LiveState, LiveUser};

/// Roles as resources: declared roles the account lacks are created; under
/// `unmanaged_roles: delete`, roles no file declares are revoked from every holder, then deleted.
pub(super) fn plan_roles(
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

pub(super) fn role_change(before: &str, after: &str) -> Change {
    Change {
        attribute: "role".into(),
        before: (!before.is_empty()).then(|| before.to_string()),
        after: Some(after.to_string()),
    }
}

/// The single role a user should have, for providers with a fixed set.
pub(super) fn desired_role(desired: &DesiredUser, caps: &Capabilities) -> Option<String> {
    match caps.roles {
        Roles::OneOf(_) => desired.roles.as_ref()?.iter().next().cloned(),
        _ => None,
    }
}

/// Promotion or demotion: roles are listed from most to least powerful.
pub(super) fn role_op(names: &[&str], from: &str, to: &str) -> Op {
    let rank = |r: &str| names.iter().position(|n| *n == r).unwrap_or(names.len());
    if rank(to) < rank(from) {
        Op::Promote
    } else {
        Op::Demote
    }
}
