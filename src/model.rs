//! The desired state after loading: validated, normalised and provider-neutral.
//!
//! Files are parsed into [`crate::desired::format`] types; once every check has passed they become
//! a [`DesiredState`]. Nothing here is unvalidated: emails are well formed, languages canonical,
//! defaults applied, roles and plans known.

use std::collections::BTreeSet;

use crate::desired::format::{
    Date, Email, LanguageTag, MaxRemovals, Provider, SecretRef, State, TargetUrl, Unmanaged,
};
use crate::diagnostic::Origin;

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
}

/// The account and how to reach it.
#[derive(Debug)]
pub struct Target {
    pub provider: Provider,
    pub url: TargetUrl,
    pub credentials: Credentials,
    pub origin: Origin,
}

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

/// What happens beyond the listed users.
#[derive(Debug)]
pub struct Policy {
    pub unmanaged: Unmanaged,
    pub protect: Vec<String>,
    pub max_removals: Option<MaxRemovals>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unmanaged: Unmanaged::Ignore,
            protect: Vec::new(),
            max_removals: None,
        }
    }
}

/// One person as the files want them. `None` means "not managed".
#[derive(Debug, Clone)]
pub struct DesiredUser {
    /// The natural key, normalised: lower-cased email (Piwik PRO), external id (Publica.la) or
    /// username (BEdita).
    pub key: String,
    /// Where the user is declared.
    pub origin: Origin,
    pub state: State,
    /// Where `state` was written, when it was (for "state: absent at file:line").
    pub state_origin: Option<Origin>,
    pub email: Option<Email>,
    pub external_id: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub surname: Option<String>,
    pub language: Option<LanguageTag>,
    pub roles: Option<BTreeSet<String>>,
    /// Sent only on create; never compared.
    pub password: Option<SecretRef>,
    pub plan: Option<String>,
    pub plan_valid_to: Option<Date>,
    pub admin: Option<bool>,
    pub plan_admin: Option<bool>,
    pub only_sees_readable: Option<bool>,
    pub sessions_limit: Option<u32>,
}

/// A role the files manage (BEdita).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredRole {
    pub name: String,
    pub description: Option<String>,
    pub origin: Origin,
}
