//! The model under everything: the shared vocabulary ([`vocab`]), what each provider can express
//! ([`capabilities`]), and the desired state after loading: validated, normalised and
//! provider-neutral, beside the live users as fetched.
//!
//! Files are parsed into [`crate::desired::format`] types; once every check has passed they become
//! a [`DesiredState`]. Nothing here is unvalidated: emails are well formed, languages canonical,
//! defaults applied, roles and plans known.

use std::collections::BTreeSet;

pub mod access;
pub mod capabilities;
mod compact;
pub mod vocab;

pub use compact::{Attributes, Names};

use crate::diagnostic::Origin;
use vocab::{
    Date, Email, LanguageTag, MaxRemovals, Provider, SecretRef, State, TargetUrl, Unmanaged,
    UnmanagedGroups, UnmanagedPermissions, UnmanagedRoles,
};

/// Everything one set of files asks of one account.
#[derive(Debug)]
pub struct DesiredState {
    pub target: Target,
    pub policy: Policy,
    /// Sorted by [`DesiredUser::key`].
    pub users: Vec<DesiredUser>,
    /// Sorted by name.
    pub roles: Vec<DesiredRole>,
    /// Plan names, sorted.
    pub plans: Vec<String>,
    /// How many files fed this state.
    pub files: usize,
    /// Each file as given and the SHA-256 of its text, for binding saved plans to the files.
    pub digests: Vec<(std::path::PathBuf, String)>,
    /// The path of each source, by [`crate::diagnostic::SourceId`], to say where something is
    /// written.
    pub paths: Vec<std::path::PathBuf>,
    /// The user groups the files manage (Piwik PRO), sorted by name.
    pub groups: Vec<access::DesiredGroup>,
}

impl DesiredState {
    /// Where `origin` is, as `path:line` ("`state: absent` in leavers.yaml:12").
    pub fn at(&self, origin: Origin) -> String {
        match self.paths.get(origin.source.0) {
            Some(path) => format!("{}:{}", path.display(), origin.span.line),
            None => format!("line {}", origin.span.line),
        }
    }
}

/// The account and how to reach it.
#[derive(Debug)]
pub struct Target {
    pub provider: Provider,
    pub url: TargetUrl,
    pub credentials: Credentials,
    pub origin: Origin,
}

/// Every attribute a user may have, under any provider, by the name plans give it.
pub const ATTRIBUTES: &[&str] = &[
    "email",
    "name",
    "surname",
    "language",
    "admin",
    "plan_admin",
    "only_sees_readable",
    "sessions_limit",
    "plan",
    "plan_valid_to",
];

/// Resolved credentials; only the keys the provider uses are set.
#[derive(Debug, Default)]
pub struct Credentials {
    pub client_id: Option<SecretRef>,
    pub client_secret: Option<SecretRef>,
    pub api_token: Option<SecretRef>,
    pub api_key: Option<SecretRef>,
    pub username: Option<SecretRef>,
    pub password: Option<SecretRef>,
}

impl Credentials {
    /// The variables the credentials are read from.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        [
            &self.client_id,
            &self.client_secret,
            &self.api_token,
            &self.api_key,
            &self.username,
            &self.password,
        ]
        .into_iter()
        .flatten()
        .map(|s| s.var.as_str())
    }
}

/// What happens beyond the listed users.
#[derive(Debug)]
pub struct Policy {
    pub unmanaged: Unmanaged,
    pub unmanaged_roles: UnmanagedRoles,
    pub unmanaged_groups: UnmanagedGroups,
    pub unmanaged_permissions: UnmanagedPermissions,
    pub protect: Vec<String>,
    pub max_removals: Option<MaxRemovals>,
    /// The fewest active owners or admins a plan may leave.
    pub min_admins: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unmanaged: Unmanaged::Ignore,
            unmanaged_roles: UnmanagedRoles::Ignore,
            unmanaged_groups: UnmanagedGroups::Ignore,
            unmanaged_permissions: UnmanagedPermissions::Ignore,
            protect: Vec::new(),
            max_removals: None,
            min_admins: 1,
        }
    }
}

/// One person as the files want them. `None` means "not managed".
#[derive(Debug, Clone)]
pub struct DesiredUser {
    /// The natural key, normalised: lower-cased email (Piwik PRO), external id (Publica.la) or
    /// lower-cased username (BEdita).
    pub key: String,
    /// Where the user is declared.
    pub origin: Origin,
    pub state: State,
    /// Where `state` was written, when it was.
    pub state_origin: Option<Origin>,
    pub email: Option<Email>,
    pub language: Option<LanguageTag>,
    pub roles: Option<BTreeSet<String>>,
    /// What only some providers have, held apart and only when set: most users of a large
    /// Piwik PRO account have none of it, and a file may list a hundred thousand of them.
    details: Option<Box<Details>>,
}

/// The fields of a [`DesiredUser`] that only some providers have. `None` means "not managed".
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// Emails the person had before, where a store matches users by email (Publica.la).
    pub former_emails: Vec<Email>,
    pub external_id: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub surname: Option<String>,
    /// Sent only on create; never compared.
    pub password: Option<SecretRef>,
    pub plan: Option<String>,
    pub plan_valid_to: Option<Date>,
    pub admin: Option<bool>,
    pub plan_admin: Option<bool>,
    pub only_sees_readable: Option<bool>,
    pub sessions_limit: Option<u32>,
    /// Whether deactivating the user also ends their sessions (Publica.la).
    pub force_logout: Option<bool>,
    /// App and meta-site permissions given to the user directly (Piwik PRO); only those named
    /// are managed.
    pub access: Vec<access::DesiredPermission>,
}

/// The details of a user who has none.
static NO_DETAILS: Details = Details {
    former_emails: Vec::new(),
    external_id: None,
    username: None,
    name: None,
    surname: None,
    password: None,
    plan: None,
    plan_valid_to: None,
    admin: None,
    plan_admin: None,
    only_sees_readable: None,
    sessions_limit: None,
    force_logout: None,
    access: Vec::new(),
};

impl Details {
    fn is_empty(&self) -> bool {
        let Details {
            former_emails,
            external_id,
            username,
            name,
            surname,
            password,
            plan,
            plan_valid_to,
            admin,
            plan_admin,
            only_sees_readable,
            sessions_limit,
            force_logout,
            access,
        } = self;
        former_emails.is_empty()
            && external_id.is_none()
            && username.is_none()
            && name.is_none()
            && surname.is_none()
            && password.is_none()
            && plan.is_none()
            && plan_valid_to.is_none()
            && admin.is_none()
            && plan_admin.is_none()
            && only_sees_readable.is_none()
            && sessions_limit.is_none()
            && force_logout.is_none()
            && access.is_empty()
    }
}

impl DesiredUser {
    /// An active user with nothing managed but its key.
    pub fn new(key: String, origin: Origin) -> Self {
        DesiredUser {
            key,
            origin,
            state: State::Active,
            state_origin: None,
            email: None,
            language: None,
            roles: None,
            details: None,
        }
    }

    /// The fields only some providers have.
    pub fn details(&self) -> &Details {
        self.details.as_deref().unwrap_or(&NO_DETAILS)
    }

    /// The fields only some providers have, to change.
    pub fn details_mut(&mut self) -> &mut Details {
        self.details.get_or_insert_default()
    }

    /// Sets the fields only some providers have; none at all are held as nothing.
    pub fn set_details(&mut self, details: Details) {
        self.details = (!details.is_empty()).then(|| Box::new(details));
    }

    /// The scalar attributes this user manages on a provider that stores `fields`, as text, in a
    /// fixed order. The identity and create-only fields (the password) are not among them.
    pub fn attributes(&self, fields: &[&str]) -> Vec<(&'static str, String)> {
        let flag = |b: &Option<bool>| b.map(|b| b.to_string());
        let more = self.details();
        let candidates: [(&'static str, Option<String>); 10] = [
            ("email", self.email.as_ref().map(|e| e.as_str().to_string())),
            ("name", more.name.clone()),
            ("surname", more.surname.clone()),
            ("language", self.language.as_ref().map(ToString::to_string)),
            ("admin", flag(&more.admin)),
            ("plan_admin", flag(&more.plan_admin)),
            ("only_sees_readable", flag(&more.only_sees_readable)),
            ("sessions_limit", more.sessions_limit.map(|n| n.to_string())),
            ("plan", more.plan.clone()),
            ("plan_valid_to", more.plan_valid_to.map(|d| d.to_string())),
        ];
        candidates
            .into_iter()
            .filter(|(name, _)| fields.contains(name))
            .filter_map(|(name, value)| Some((name, value?)))
            .collect()
    }

    /// The value of the provider's identity key, as written.
    pub fn identity(&self, identity: &str) -> Option<String> {
        match identity {
            "email" => self.email.as_ref().map(|e| e.as_str().to_string()),
            "external_id" => self.details().external_id.clone(),
            "username" => self.details().username.clone(),
            _ => None,
        }
    }
}

/// A role the files manage (BEdita).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredRole {
    pub name: String,
    pub description: Option<String>,
    pub origin: Origin,
}

/// A role as the account has it (BEdita).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRole {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Built into the product (BEdita's `admin`): never deleted.
    pub builtin: bool,
}

/// One user as the provider has them, normalised into the same vocabulary as [`DesiredUser`].
///
/// `state` is [`State::Absent`] for a user the provider keeps in a restorable trash (BEdita's
/// soft delete): such a user is restored, never re-created, when a file wants them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveUser {
    /// The provider's id, used in API paths.
    pub id: String,
    /// The natural key, normalised as in [`DesiredUser::key`].
    pub key: String,
    /// The natural key as the service spells it, where matching ignores case (BEdita usernames).
    pub spelling: Option<String>,
    /// The service blocked the user: only a user holding the admin role can lift it (BEdita).
    pub blocked: bool,
    /// The email as stored.
    pub email: Option<String>,
    pub state: State,
    /// Scalar attributes as text, named as in the files (`language`, `admin`, ...).
    pub attributes: Attributes,
    pub roles: Names,
}

/// Everything fetched from an account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveState {
    /// Sorted by key.
    pub users: Vec<LiveUser>,
    /// The key of the user the credentials belong to, when the provider tells.
    pub own_key: Option<String>,
    /// The plan names the account offers, for providers with plans.
    pub plans: Option<Vec<String>>,
    /// The roles the account defines, for providers whose roles are resources. Sorted by name.
    pub roles: Option<Vec<LiveRole>>,
    /// Apps, meta sites, groups and permissions (Piwik PRO), when the files manage access.
    pub access: Option<access::LiveAccess>,
}

impl LiveState {
    /// Sorts the users by key, as the planner expects. Users sharing a key (which the fetch
    /// refuses) end up side by side, in id order, so the sort needs no buffer.
    pub fn new(mut users: Vec<LiveUser>, own_key: Option<String>) -> Self {
        users.sort_unstable_by(|a, b| (&a.key, &a.id).cmp(&(&b.key, &b.id)));
        LiveState {
            users,
            own_key,
            plans: None,
            roles: None,
            access: None,
        }
    }

    /// Every natural key two or more live users share, with their ids. The planner could only
    /// pick one of them at random, so a fetch that finds any is refused.
    pub fn shared_keys(&self) -> Vec<(&str, Vec<&str>)> {
        let mut shared: Vec<(&str, Vec<&str>)> = Vec::new();
        for pair in self.users.windows(2) {
            if pair[0].key != pair[1].key {
                continue;
            }
            match shared.last_mut() {
                Some((key, ids)) if *key == pair[0].key => ids.push(&pair[1].id),
                _ => shared.push((&pair[0].key, vec![&pair[0].id, &pair[1].id])),
            }
        }
        // One record listed twice is still one user.
        for (_, ids) in &mut shared {
            ids.sort_unstable();
            ids.dedup();
        }
        shared.retain(|(_, ids)| ids.len() > 1);
        shared
    }
}

impl LiveUser {
    /// The attributes a saved plan records to notice later changes. Never a secret.
    pub fn fingerprint(&self) -> std::collections::BTreeMap<String, String> {
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("id".to_string(), self.id.clone());
        attributes.insert("state".to_string(), self.state.to_string());
        if let Some(email) = &self.email {
            attributes.insert("email".to_string(), email.clone());
        }
        for (name, value) in &self.attributes {
            attributes.insert(name.to_string(), value.clone());
        }
        let roles: Vec<&str> = self.roles.iter().map(String::as_str).collect();
        attributes.insert("roles".to_string(), roles.join(","));
        attributes
    }
}
