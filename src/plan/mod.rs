//! Plans: what apply will do, computed purely from the desired and the live state.
//!
//! [`diff::plan`] builds a [`Plan`]: a list of [`Action`]s in an order that respects every
//! dependency (each action's `depends_on` names only earlier actions), plus what the guards found.
//! Renderers in [`crate::render`] read a plan; the executor in [`crate::apply`] runs it.

pub mod diff;
mod guards;
pub mod saved;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use diff::{PlanOptions, plan};

/// The guards for `actions` against `live` as it is now; a saved plan is checked again this way
/// before it is applied, since an owner may have left the account in the meantime.
pub fn recheck(
    desired: &crate::model::DesiredState,
    live: &crate::model::LiveState,
    actions: &[Action],
    options: &PlanOptions,
) -> Vec<Blocked> {
    guards::check(
        desired,
        live,
        actions,
        desired.target.provider.capabilities(),
        options,
    )
}

/// How a user key is shown: a live user found only by email carries an `email:` key.
pub fn display_key(key: &str) -> &str {
    key.strip_prefix("email:").unwrap_or(key)
}

/// Index of an action in [`Plan::actions`].
pub type ActionId = usize;

/// What an action does to one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// Create (or invite) the user with the attributes in `changes`.
    Create,
    /// Let a deactivated user sign in again.
    Reactivate,
    /// Change attributes in place.
    Update,
    /// Give the user a higher role (say `user` to `owner`).
    Promote,
    /// Give the user a lower role.
    Demote,
    /// Keep the user but stop them signing in.
    Deactivate,
    /// Remove the user for good.
    Delete,
}

impl Op {
    /// The operation's name, as in JSON plans: `create`, `promote`, ...
    pub fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Reactivate => "reactivate",
            Op::Update => "update",
            Op::Promote => "promote",
            Op::Demote => "demote",
            Op::Deactivate => "deactivate",
            Op::Delete => "delete",
        }
    }

    /// Whether the action removes a user.
    pub fn is_removal(self) -> bool {
        matches!(self, Op::Deactivate | Op::Delete)
    }
}

/// One attribute before and after. `None` means unset (before a create, after a delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub attribute: Cow<'static, str>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub id: ActionId,
    pub op: Op,
    /// The user's natural key.
    pub user: String,
    /// The user's id at the provider, when the user exists already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_id: Option<String>,
    pub changes: Vec<Change>,
    /// Actions that must succeed first.
    pub depends_on: Vec<ActionId>,
    /// Why a removal happens: where `state: absent` is written, or the unmanaged policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Managed attributes of this user that stay as they are (shown as a count).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unchanged: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Action {
    /// The value this action sets for `attribute`.
    pub fn after(&self, attribute: &str) -> Option<&str> {
        self.changes
            .iter()
            .find(|c| c.attribute == attribute)
            .and_then(|c| c.after.as_deref())
    }
}

/// A guard that stops the plan from being applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// Short name of the guard: `own-user`, `last-owner`, `max-removals`.
    pub guard: Cow<'static, str>,
    pub message: String,
    /// How to proceed, if anything overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Everything a plan holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Actions in dependency order.
    pub actions: Vec<Action>,
    /// Live users in no file, left alone under `unmanaged: ignore`.
    pub unmanaged_ignored: usize,
    /// Users matching a `protect` pattern whose changes were left out.
    pub protected: Vec<String>,
    /// Users found by email because the account's list does not return their natural key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched_by_email: Vec<String>,
    /// Unchanged users the files manage.
    pub unchanged: usize,
    /// Users with changes left out by `--target-user` / `--exclude-user`.
    pub out_of_scope: usize,
    /// How many of those pending changes are removals.
    pub out_of_scope_removals: usize,
    pub blocked: Vec<Blocked>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// How many actions of `op` the plan holds.
    pub fn count(&self, op: Op) -> usize {
        self.actions.iter().filter(|a| a.op == op).count()
    }

    /// The number of distinct users with at least one action of the given kinds.
    pub fn users_with(&self, ops: &[Op]) -> usize {
        let mut users: Vec<&str> = self
            .actions
            .iter()
            .filter(|a| ops.contains(&a.op))
            .map(|a| a.user.as_str())
            .collect();
        users.sort_unstable();
        users.dedup();
        users.len()
    }
}
