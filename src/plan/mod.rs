//! Plans: what apply will do, computed purely from the desired and the live state.
//!
//! [`diff::plan`] builds a [`Plan`]: a list of [`Action`]s in an order that respects every
//! dependency (each action's `depends_on` names only earlier actions), plus what the guards found.
//! Renderers in [`crate::render`] read a plan; the executor in [`crate::apply`] runs it.

pub mod access;
pub mod diff;
mod glob;
mod guards;
mod order;
mod roles;
pub mod saved;
pub mod view;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use diff::{PlanOptions, plan};

/// How a user key is shown: a live user found only by email carries an `email:` key.
pub fn display_key(key: &str) -> &str {
    key.strip_prefix("email:").unwrap_or(key)
}

/// A live user no file mentions, left alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanagedUser {
    /// As plans name it: its key, or its email where the list shows no key.
    pub user: String,
    /// Its role or roles (`admin` for a Publica.la admin), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Whether it runs the account: an owner or admin.
    pub admin: bool,
    /// `active`, `deactivated`, or `absent` (in a trash).
    pub state: String,
}

/// Index of an action in [`Plan::actions`].
pub type ActionId = usize;

/// What an action does to one user, or (for the `*-role` operations) to one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// Create a role users can then be granted (BEdita).
    CreateRole,
    /// Change a role's description (BEdita).
    UpdateRole,
    /// Create (or invite) the user with the attributes in `changes`.
    Create,
    /// Bring a user back from the provider's trash, with the state and roles in `changes`.
    Restore,
    /// Let a deactivated user sign in again.
    Reactivate,
    /// Change attributes in place.
    Update,
    /// Give the user a higher role (say `user` to `owner`).
    Promote,
    /// Add roles to the user's set.
    Grant,
    /// Give the user a lower role.
    Demote,
    /// Take roles from the user's set.
    Revoke,
    /// End the user's open sessions now (Publica.la's force logout), just before its
    /// deactivation. Best effort: a failure is reported and never stops the deactivation.
    EndSessions,
    /// Keep the user but stop them signing in.
    Deactivate,
    /// Remove the user for good, or to a restorable trash where the provider has one.
    Delete,
    /// Delete a role, once no user holds it (BEdita).
    DeleteRole,
    /// Create a user group (Piwik PRO).
    CreateGroup,
    /// Rename a user group, keeping its id, members and permissions.
    UpdateGroup,
    /// Delete a user group the files leave out (`policy.unmanaged_groups: delete`); what it
    /// granted goes with it.
    DeleteGroup,
    /// Add the users in `changes` to a group.
    AddMembers,
    /// Take the users in `changes` out of a group.
    RemoveMembers,
    /// Set a user's permission on the app or meta site in [`Action::on`].
    SetPermission,
    /// Set a group's permission on the app or meta site in [`Action::on`]; written as
    /// `set-permission` with a `group`.
    SetGroupPermission,
}

/// The operations on Piwik PRO access (groups, members, permissions), as one pattern: every
/// `match` on [`Op`] that treats them alike names them through it.
macro_rules! access_ops {
    () => {
        $crate::plan::Op::CreateGroup
            | $crate::plan::Op::UpdateGroup
            | $crate::plan::Op::DeleteGroup
            | $crate::plan::Op::AddMembers
            | $crate::plan::Op::RemoveMembers
            | $crate::plan::Op::SetPermission
            | $crate::plan::Op::SetGroupPermission
    };
}
pub(crate) use access_ops;

/// What an action is done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    User,
    Role,
    Group,
}

impl Kind {
    /// `user`, `role` or `group`, as plans and JSON name it.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Role => "role",
            Kind::Group => "group",
        }
    }
}

impl Op {
    /// The operation's name, as in JSON plans: `create`, `promote`, ...
    pub fn name(self) -> &'static str {
        match self {
            Op::CreateRole => "create-role",
            Op::UpdateRole => "update-role",
            Op::Create => "create",
            Op::Restore => "restore",
            Op::Reactivate => "reactivate",
            Op::Update => "update",
            Op::Promote => "promote",
            Op::Grant => "grant",
            Op::Demote => "demote",
            Op::Revoke => "revoke",
            Op::EndSessions => "end-sessions",
            Op::Deactivate => "deactivate",
            Op::Delete => "delete",
            Op::DeleteRole => "delete-role",
            Op::CreateGroup => "create-group",
            Op::UpdateGroup => "update-group",
            Op::DeleteGroup => "delete-group",
            Op::AddMembers => "add-members",
            Op::RemoveMembers => "remove-members",
            Op::SetPermission | Op::SetGroupPermission => "set-permission",
        }
    }

    /// What the action is done to.
    pub fn kind(self) -> Kind {
        match self {
            Op::CreateRole | Op::UpdateRole | Op::DeleteRole => Kind::Role,
            Op::CreateGroup
            | Op::UpdateGroup
            | Op::DeleteGroup
            | Op::AddMembers
            | Op::RemoveMembers
            | Op::SetGroupPermission => Kind::Group,
            _ => Kind::User,
        }
    }

    /// Whether the action's subject is a user.
    pub fn is_user(self) -> bool {
        self.kind() == Kind::User
    }

    /// Whether the action changes who may do what on an app or meta site (Piwik PRO), rather
    /// than a user's account.
    pub fn is_access(self) -> bool {
        matches!(self, access_ops!())
    }

    /// Whether the action removes a user.
    pub fn is_removal(self) -> bool {
        matches!(self, Op::Deactivate | Op::Delete)
    }

    /// Whether the actions that wait for this one run even when it fails: it is done for their
    /// sake, never as a condition of them.
    pub fn best_effort(self) -> bool {
        self == Op::EndSessions
    }

    /// Whether the action's subject is a role rather than a user.
    pub fn is_role(self) -> bool {
        self.kind() == Kind::Role
    }

    /// Whether the action brings a user into being, so everything else done to it waits.
    pub fn brings_in(self) -> bool {
        matches!(self, Op::Create | Op::Restore | Op::Reactivate)
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
#[serde(into = "wire::Action", try_from = "wire::Action")]
pub struct Action {
    pub id: ActionId,
    pub op: Op,
    /// The user's natural key; for the `*-role` operations, the role's name; for the group
    /// operations, the group's name.
    pub user: String,
    /// The user's (or role's) id at the provider, when it exists already.
    pub live_id: Option<String>,
    pub changes: Vec<Change>,
    /// Actions that must succeed first.
    pub depends_on: Vec<ActionId>,
    /// Every `create` of the plan must succeed first: the removal of a user known only by its
    /// email, who may be a person a create is meant for. One flag, not an edge per create.
    pub after_creates: bool,
    /// Why a removal happens: where `state: absent` is written, or the unmanaged policy.
    pub reason: Option<String>,
    /// Managed attributes of this user that stay as they are (shown as a count).
    pub unchanged: usize,
    /// For a permission: the app or meta site it is on.
    pub on: Option<AccessOn>,
}

/// The app or meta site a permission is on, as resolved when planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessOn {
    #[serde(rename = "type")]
    pub entity: crate::model::access::Entity,
    pub id: String,
    pub name: String,
}

/// How an action is written in JSON: a role operation names a `role`, a group operation a
/// `group`, every other one a `user`.
mod wire {
    use serde::{Deserialize, Serialize};

    use super::{AccessOn, ActionId, Change, Kind, Op};

    #[derive(Serialize, Deserialize)]
    pub struct Action {
        id: ActionId,
        op: Op,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        live_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on: Option<AccessOn>,
        changes: Vec<Change>,
        depends_on: Vec<ActionId>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        after_creates: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "super::is_zero")]
        unchanged: usize,
    }

    impl From<super::Action> for Action {
        fn from(a: super::Action) -> Self {
            let (mut user, mut role, mut group) = (None, None, None);
            match a.op.kind() {
                Kind::User => user = Some(a.user),
                Kind::Role => role = Some(a.user),
                Kind::Group => group = Some(a.user),
            }
            Action {
                id: a.id,
                // A group's permission is a `set-permission` with a `group`.
                op: if a.op == Op::SetGroupPermission {
                    Op::SetPermission
                } else {
                    a.op
                },
                user,
                role,
                group,
                live_id: a.live_id,
                on: a.on,
                changes: a.changes,
                depends_on: a.depends_on,
                after_creates: a.after_creates,
                reason: a.reason,
                unchanged: a.unchanged,
            }
        }
    }

    impl TryFrom<Action> for super::Action {
        type Error = String;

        fn try_from(a: Action) -> Result<Self, String> {
            let op = match a.op {
                Op::SetPermission if a.group.is_some() => Op::SetGroupPermission,
                Op::SetGroupPermission => {
                    return Err(format!("action {} has an unknown operation", a.id));
                }
                op => op,
            };
            let (subject, others) = match op.kind() {
                Kind::User => (a.user, [a.role, a.group]),
                Kind::Role => (a.role, [a.user, a.group]),
                Kind::Group => (a.group, [a.user, a.role]),
            };
            let what = op.kind().noun();
            let subject = subject
                .ok_or_else(|| format!("action {} ({}) names no {what}", a.id, op.name()))?;
            if others.iter().any(Option::is_some) {
                return Err(format!(
                    "action {} ({}) names more than its {what}",
                    a.id,
                    op.name()
                ));
            }
            if matches!(op, Op::SetPermission | Op::SetGroupPermission) != a.on.is_some() {
                return Err(format!(
                    "action {} ({}): only a permission names what it is `on`",
                    a.id,
                    op.name()
                ));
            }
            Ok(super::Action {
                id: a.id,
                op,
                user: subject,
                live_id: a.live_id,
                changes: a.changes,
                depends_on: a.depends_on,
                after_creates: a.after_creates,
                reason: a.reason,
                unchanged: a.unchanged,
                on: a.on,
            })
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Action {
    /// What the action is done to, for messages: the user's key, `role <name>` or
    /// `group <name>`.
    pub fn subject(&self) -> String {
        match self.op.kind() {
            Kind::User => display_key(&self.user).to_string(),
            kind => format!("{} {}", kind.noun(), self.user),
        }
    }

    /// The roles a grant or revoke adds or takes, in order.
    pub fn roles(&self) -> Vec<&str> {
        self.changes
            .iter()
            .filter(|c| c.attribute == "role")
            .filter_map(|c| c.after.as_deref().or(c.before.as_deref()))
            .collect()
    }

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
    /// Live users in no file, left alone (`unmanaged: ignore` or `report`): those who run the
    /// account first, then by name.
    pub unmanaged: Vec<UnmanagedUser>,
    /// Whether those users are drift (`unmanaged: report`, `--fail-on-unmanaged`).
    pub unmanaged_drift: bool,
    /// Users matching a `protect` pattern whose changes were left out.
    pub protected: Vec<String>,
    /// Users found by email because the account's list does not show them under the files'
    /// natural key (it hides it, or shows another).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched_by_email: Vec<String>,
    /// Unchanged users the files manage.
    pub unchanged: usize,
    /// Users with changes left out by `--target-user` / `--exclude-user`.
    pub out_of_scope: usize,
    /// How many of those pending changes are removals.
    pub out_of_scope_removals: usize,
    /// Differences the provider offers no way to fix (a field of a deactivated user), each in
    /// words; the account does not match the files while there are any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfixable: Vec<String>,
    pub blocked: Vec<Blocked>,
    /// Where access changes, each person's effective permission before and after on the apps
    /// and meta sites concerned: the highest of their own and their groups' (Piwik PRO).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_effects: Vec<access::AccessEffect>,
    /// Whether the groups and permissions the files manage were left out, as the run was
    /// narrowed to some users (`--target-user`, `--exclude-user`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub access_skipped: bool,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Whether the account matches the files: nothing to do, and nothing that cannot be done.
    pub fn matches(&self) -> bool {
        self.actions.is_empty() && self.unfixable.is_empty()
    }

    /// Whether a drift check should report the account: it does not match the files, or it has
    /// users in no file that the policy counts as drift.
    pub fn drifted(&self) -> bool {
        !self.matches() || (self.unmanaged_drift && !self.unmanaged.is_empty())
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
            .filter(|a| !a.op.is_role() && ops.contains(&a.op))
            .map(|a| a.user.as_str())
            .collect();
        users.sort_unstable();
        users.dedup();
        users.len()
    }
}
