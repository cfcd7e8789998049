//! The desired-state file format, version 1, exactly as written in YAML.
//!
//! These types are the single source of truth for the format: the decoder reads files into them
//! and `schema.json` is generated from them. Checks that need only the value itself (an email's
//! syntax, a date, a language tag) happen while decoding; checks that need the whole picture (the
//! provider's capabilities, duplicates across files) happen in [`super::validate`].

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::decode::{Cx, Decode, Deferred, Spanned, keyword_format, record};
use super::env;
use crate::model::access::Permission;
use crate::model::vocab::{
    Date, Email, ExternalId, LanguageTag, MaxRemovals, Pattern, Provider, Secret, SecretRef, State,
    TargetUrl, Unmanaged, UnmanagedGroups, UnmanagedPermissions, UnmanagedRoles, parse_target_url,
};
use crate::yaml::{Node, Value};

record! {
    /// One desired-state file. Several files (or a directory of them) may feed one target: one of
    /// them holds `target`, and at most one holds `policy` or `defaults`; `users`, `roles` and
    /// `plans` from all of them are combined.
    pub struct FileDoc as "the file" {
        /// The format version. Always `1`.
        pub version: Spanned<Version>,
        /// The account these users live in. Exactly one file of a set declares it.
        pub target: Option<Spanned<TargetDoc>>,
        /// What rollcall may do to live users, and the guards against accidents.
        pub policy: Option<Spanned<PolicyDoc>>,
        /// Values every user gets unless the user sets the key itself.
        pub defaults: Option<Spanned<DefaultsDoc>>,
        /// The roles this file manages (BEdita). Every role a user holds must be listed here.
        pub roles: Option<Spanned<Vec<Spanned<RoleDoc>>>>,
        /// The plans users may be given, referred to by name (Publica.la).
        pub plans: Option<Spanned<Vec<Spanned<PlanDoc>>>>,
        /// The people who should (or should no longer) have an account.
        pub users: Option<Spanned<Deferred<Spanned<UserDoc>>>>,
        /// User groups and what they may do (Piwik PRO). Groups not listed are left alone.
        pub groups: Option<Spanned<Vec<Spanned<GroupDoc>>>>,
    }
}

record! {
    /// A Piwik PRO user group.
    pub struct GroupDoc as "a group" {
        /// The group's name, unique in the account whatever its case.
        pub name: Spanned<String>,
        /// The group's id in your identity provider. A group with this id is this group, whatever
        /// its name.
        pub external_id: Option<Spanned<String>>,
        /// Names the group had before: a group found under one of them is this group, renamed.
        pub former_names: Option<Spanned<Vec<Spanned<String>>>>,
        /// Its members, by email, each a user of the files. Absent leaves the members as they are
        /// (as for a group whose members your identity provider keeps).
        pub members: Option<Spanned<Vec<Spanned<Email>>>>,
        /// Its app permissions: an app's name, or its UUID, to `no-access`, `view`, `edit`,
        /// `edit-publish` or `manage`. Apps not named are left as they are.
        pub apps: Option<Spanned<PermissionMap>>,
        /// Its meta-site permissions: a meta site's name, or its UUID, to `no-access`, `view`,
        /// `edit` or `manage`. Meta sites not named are left as they are.
        pub meta_sites: Option<Spanned<PermissionMap>>,
    }
}

record! {
    /// The account rollcall reconciles.
    pub struct TargetDoc as "the target" {
        /// Which API the account speaks.
        pub provider: Spanned<Provider>,
        /// The account's base URL (`https://acme.piwik.pro`), or `sandbox` for the built-in
        /// simulator, which needs no credentials.
        pub url: Spanned<TargetUrl>,
        /// How rollcall signs in. Every value is a `${ENV_VAR}` reference, never a literal secret.
        pub credentials: Option<Spanned<CredentialsDoc>>,
    }
}

record! {
    /// Credentials, each a `${ENV_VAR}` reference. Which keys a provider needs: Piwik PRO
    /// `client_id` and `client_secret`; Publica.la `api_token`; BEdita `api_key` plus either
    /// `username` and `password`, or `client_secret`.
    pub struct CredentialsDoc as "the credentials" {
        /// Piwik PRO API client id.
        pub client_id: Option<Spanned<SecretRef>>,
        /// Piwik PRO API client secret, or the BEdita application secret.
        pub client_secret: Option<Spanned<SecretRef>>,
        /// Publica.la `X-User-Token`.
        pub api_token: Option<Spanned<SecretRef>>,
        /// BEdita `X-Api-Key`.
        pub api_key: Option<Spanned<SecretRef>>,
        /// BEdita user to sign in as (writes need a signed-in user).
        pub username: Option<Spanned<SecretRef>>,
        /// That BEdita user's password.
        pub password: Option<Spanned<SecretRef>>,
    }
}

record! {
    /// Rules for live users the files do not mention, and guards against accidents.
    pub struct PolicyDoc as "the policy" {
        /// What happens to live users in no file: `ignore` (the default: listed, left alone),
        /// `report` (listed, left alone, and counted as drift), `deactivate` or `delete`.
        pub unmanaged: Option<Spanned<Unmanaged>>,
        /// What happens to live roles no file declares (BEdita): `ignore` (the default) or
        /// `delete`, which first revokes them from every user. Built-in roles are never deleted.
        pub unmanaged_roles: Option<Spanned<UnmanagedRoles>>,
        /// What happens to live user groups no file lists (Piwik PRO): `ignore` (the default)
        /// or `delete`; what a deleted group granted goes with it.
        pub unmanaged_groups: Option<Spanned<UnmanagedGroups>>,
        /// What happens to the permissions the files' users and groups hold on apps and meta
        /// sites the files do not name for them (Piwik PRO): `ignore` (the default) or `revoke`,
        /// which sets them to `no-access`.
        pub unmanaged_permissions: Option<Spanned<UnmanagedPermissions>>,
        /// Users never changed or removed: emails or usernames, with `*` and `?` wildcards.
        pub protect: Option<Spanned<Vec<Spanned<Pattern>>>>,
        /// The most removals one run may make: a count (`10`) or a share of live users (`"10%"`).
        /// Without it, 10 % of the live users, and never fewer than 5.
        pub max_removals: Option<Spanned<MaxRemovals>>,
        /// The fewest active owners or admins a plan may leave (default 1). An account with
        /// fewer is never brought lower.
        pub min_admins: Option<Spanned<u32>>,
    }
}

record! {
    /// Values applied to every user that does not set the key itself.
    pub struct DefaultsDoc as "the defaults" {
        /// Default `state`.
        pub state: Option<Spanned<State>>,
        /// Default language (Piwik PRO, BEdita).
        pub language: Option<Spanned<LanguageTag>>,
        /// Default roles (Piwik PRO, BEdita).
        pub roles: Option<Spanned<Vec<Spanned<String>>>>,
        /// Default plan name (Publica.la).
        pub plan: Option<Spanned<String>>,
        /// Default last day of the plan (Publica.la).
        pub plan_valid_to: Option<Spanned<Date>>,
        /// Default store-admin flag (Publica.la).
        pub admin: Option<Spanned<bool>>,
        /// Default plan-admin flag (Publica.la).
        pub plan_admin: Option<Spanned<bool>>,
        /// Default for seeing only readable content (Publica.la).
        pub only_sees_readable: Option<Spanned<bool>>,
        /// Default number of concurrent sessions (Publica.la).
        pub sessions_limit: Option<Spanned<u32>>,
    }
}

record! {
    /// A BEdita role the files manage.
    pub struct RoleDoc as "a role" {
        /// The role's unique name.
        pub name: Spanned<String>,
        /// A description shown in BEdita.
        pub description: Option<Spanned<String>>,
    }
}

record! {
    /// A Publica.la plan that users may be given.
    pub struct PlanDoc as "a plan" {
        /// The plan's name exactly as the store shows it.
        pub name: Spanned<String>,
    }
}

record! {
    /// One person. Which keys apply depends on the provider: see the README's provider mapping.
    /// A key that is absent is not managed; `[]` means none.
    pub struct UserDoc as "a user" {
        /// Email address. The identity on Piwik PRO; matched after trimming and lower-casing.
        pub email: Option<Spanned<Email>>,
        /// Emails the person had before (Publica.la): a live user found under one of them is
        /// this person, and its email is changed, not the user replaced.
        pub former_emails: Option<Spanned<Vec<Spanned<Email>>>>,
        /// Your own id for the user (Publica.la, at most 64 characters). The identity there.
        pub external_id: Option<Spanned<ExternalId>>,
        /// Login name (BEdita). The identity there.
        pub username: Option<Spanned<String>>,
        /// Given name (BEdita).
        pub name: Option<Spanned<String>>,
        /// Family name (BEdita).
        pub surname: Option<Spanned<String>>,
        /// `active` (the default), `deactivated` (kept but cannot sign in), or `absent` (removed
        /// in the gentlest way the provider allows).
        pub state: Option<Spanned<State>>,
        /// IETF language tag such as `en-US` (Piwik PRO, BEdita).
        pub language: Option<Spanned<LanguageTag>>,
        /// Roles: on Piwik PRO exactly one of `owner` or `user`; on BEdita role names from
        /// `roles`.
        pub roles: Option<Spanned<Vec<Spanned<String>>>>,
        /// Initial password as a `${ENV_VAR}` reference, sent only when the user is created
        /// (Publica.la, BEdita).
        pub password: Option<Spanned<SecretRef>>,
        /// Plan name from `plans` (Publica.la).
        pub plan: Option<Spanned<String>>,
        /// Last day of the plan, `YYYY-MM-DD` (Publica.la).
        pub plan_valid_to: Option<Spanned<Date>>,
        /// Store administrator (Publica.la).
        pub admin: Option<Spanned<bool>>,
        /// Plan administrator (Publica.la).
        pub plan_admin: Option<Spanned<bool>>,
        /// Sees only content they can read (Publica.la).
        pub only_sees_readable: Option<Spanned<bool>>,
        /// Concurrent sessions allowed, 1 to 999999 (Publica.la).
        pub sessions_limit: Option<Spanned<u32>>,
        /// End the reader's open sessions when they are deactivated (Publica.la; default `true`).
        pub force_logout: Option<Spanned<bool>>,
        /// App permissions given to this user directly (Piwik PRO): an app's name, or its UUID,
        /// to `no-access`, `view`, `edit`, `edit-publish` or `manage`. Apps not named are left as
        /// they are; groups may give more.
        pub apps: Option<Spanned<PermissionMap>>,
        /// Meta-site permissions given to this user directly (Piwik PRO): a meta site's name, or
        /// its UUID, to `no-access`, `view`, `edit` or `manage`.
        pub meta_sites: Option<Spanned<PermissionMap>>,
    }
}

keyword_format!(
    Provider,
    State,
    Unmanaged,
    UnmanagedRoles,
    UnmanagedGroups,
    UnmanagedPermissions,
    Permission
);

/// Permissions on apps or meta sites: each named, or pinned by UUID, with its permission.
#[derive(Clone, Debug, PartialEq)]
pub struct PermissionMap(pub Vec<(Spanned<String>, Spanned<Permission>)>);

impl Decode for PermissionMap {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let Value::Map(entries) = &node.value else {
            cx.wrong_type(node, "a mapping of names to permissions");
            return None;
        };
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let name = match &key.value {
                Value::Str(name) if !name.trim().is_empty() => name.trim().to_string(),
                _ => {
                    cx.error(key.span, "expected the name or UUID of an app or meta site")
                        .hint = Some("write `App name: view`".into());
                    continue;
                }
            };
            if let Some(permission) = Permission::decode(value, cx) {
                out.push((
                    Spanned {
                        value: name,
                        span: key.span,
                    },
                    Spanned {
                        value: permission,
                        span: value.span,
                    },
                ));
            }
        }
        Some(PermissionMap(out))
    }
}

impl JsonSchema for PermissionMap {
    fn schema_name() -> Cow<'static, str> {
        "PermissionMap".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let permission = generator.subschema_for::<Permission>();
        json_schema!({
            "type": "object",
            "propertyNames": { "minLength": 1 },
            "additionalProperties": permission,
        })
    }
}

/// The format version; only `1` exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version;

impl Decode for Version {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match node.value {
            Value::Int(1) => Some(Version),
            _ => {
                cx.error(node.span, "unsupported format version").hint =
                    Some("this rollcall reads `version: 1`".into());
                None
            }
        }
    }

    fn missing(_: &str, _: &str, span: crate::yaml::Span, cx: &mut Cx) -> Option<Self> {
        cx.error(span, "the file does not say which format version it uses")
            .hint = Some("add `version: 1` at the top".into());
        None
    }
}

impl JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "Version".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "const": 1 })
    }
}

impl Decode for TargetUrl {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(node, cx)?;
        let text = text.trim();
        if text == "sandbox" {
            return Some(TargetUrl::Sandbox);
        }
        match parse_target_url(text) {
            Ok(url) => Some(TargetUrl::Http(
                url.as_str().trim_end_matches('/').to_string(),
            )),
            Err(problem) => {
                // A URL that was refused may hold a password; its text is never shown.
                cx.sensitive.push(node.span);
                cx.error(node.span, format!("the target URL {problem}"))
                    .hint = Some(
                    "write the account's base URL, such as `https://acme.piwik.pro`, or `sandbox` for the built-in simulator"
                        .into(),
                );
                None
            }
        }
    }
}

impl JsonSchema for TargetUrl {
    fn schema_name() -> Cow<'static, str> {
        "TargetUrl".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "anyOf": [{ "const": "sandbox" }, { "pattern": "^(https://|http://(localhost|127(\\.[0-9]{1,3}){3}|\\[::1\\])(:[0-9]+)?(/|$))" }],
        })
    }
}

impl Decode for SecretRef {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let reference = match &node.value {
            Value::Str(text) => env::sole_reference(text.trim()),
            _ => None,
        };
        // A problem here is reported but does not stop the rest of the target being checked:
        // the load fails anyway, so the empty placeholder is never used.
        let Some(var) = reference else {
            cx.sensitive.push(node.span);
            cx.error(node.span, "a literal secret is written in the file")
                .hint = Some(
                "secrets must come from the environment: write `${SOME_VAR}` and set SOME_VAR when running rollcall; rotate this secret if it was committed"
                    .into(),
            );
            return Some(SecretRef {
                var: String::new(),
                value: Secret::new(String::new()),
            });
        };
        cx.secret_vars.push(var.to_string());
        // An unset variable is left empty and noted; whether that is an error depends on what
        // the files are loaded for.
        let value = match cx.var(var) {
            Some(value) if !value.is_empty() => value,
            _ => {
                cx.unset_secrets.push((var.to_string(), node.span));
                String::new()
            }
        };
        Some(SecretRef {
            var: var.to_string(),
            value: Secret::new(value),
        })
    }
}

impl JsonSchema for SecretRef {
    fn schema_name() -> Cow<'static, str> {
        "SecretRef".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$",
            "description": "A `${ENV_VAR}` reference; literal secrets are refused.",
        })
    }
}

impl Decode for Pattern {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(node, cx)?;
        let text = text.trim();
        if text.is_empty() {
            cx.error(node.span, "an empty `protect` pattern").hint =
                Some("write an email or username, with `*` for any run of characters".into());
            return None;
        }
        Some(Pattern(text.to_lowercase()))
    }
}

impl JsonSchema for Pattern {
    fn schema_name() -> Cow<'static, str> {
        "Pattern".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "\\S", "examples": ["owner@acme.org", "*@svc.acme.org"] })
    }
}

impl Decode for Email {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(node, cx)?;
        match Email::parse(&text) {
            Ok(email) => Some(email),
            Err(why) => {
                cx.error(
                    node.span,
                    format!("`{text}` is not a valid email address: it {why}"),
                )
                .hint = Some("write an address such as `ada@acme.org`".into());
                None
            }
        }
    }
}

impl JsonSchema for Email {
    fn schema_name() -> Cow<'static, str> {
        "Email".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$" })
    }
}

impl Decode for LanguageTag {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(node, cx)?;
        let tag = LanguageTag::parse(&text);
        if tag.is_none() {
            cx.error(node.span, format!("`{text}` is not a valid language tag"))
                .hint = Some("use an IETF language tag such as `en-US`, `de-DE` or `fr`".into());
        }
        tag
    }
}

impl JsonSchema for LanguageTag {
    fn schema_name() -> Cow<'static, str> {
        "LanguageTag".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z]{2,3}([-_][A-Za-z]{4})?([-_]([A-Za-z]{2}|[0-9]{3}))?$",
            "examples": ["en-US", "de-DE", "fr"],
        })
    }
}

impl Decode for Date {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(node, cx)?;
        let date = Date::parse(text.trim());
        if date.is_none() {
            cx.error(node.span, format!("`{text}` is not a valid date"))
                .hint = Some("write the date as `YYYY-MM-DD`, such as `2027-06-30`".into());
        }
        date
    }
}

impl JsonSchema for Date {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "date" })
    }
}

impl Decode for ExternalId {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = match &node.value {
            Value::Int(n) => n.to_string(),
            _ => String::decode(node, cx)?,
        };
        let text = text.trim().to_string();
        if text.is_empty() || text.chars().count() > 64 {
            cx.error(node.span, "`external_id` must be 1 to 64 characters long");
            return None;
        }
        Some(ExternalId(text))
    }
}

impl JsonSchema for ExternalId {
    fn schema_name() -> Cow<'static, str> {
        "ExternalId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string", "minLength": 1, "maxLength": 64 },
                { "type": "integer", "minimum": 0 },
            ]
        })
    }
}

impl Decode for MaxRemovals {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        if let Value::Int(n) = node.value
            && let Ok(n) = u32::try_from(n)
        {
            return Some(MaxRemovals::Count(n));
        }
        if let Value::Str(text) = &node.value
            && let Some(p) = text.trim().strip_suffix('%')
            && let Ok(p @ 0..=100) = p.trim().parse::<u8>()
        {
            return Some(MaxRemovals::Percent(p));
        }
        cx.error(node.span, "`max_removals` must be a count or a percentage")
            .hint = Some("write a whole number such as `10`, or a share such as `\"5%\"`".into());
        None
    }
}

impl JsonSchema for MaxRemovals {
    fn schema_name() -> Cow<'static, str> {
        "MaxRemovals".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*(100|[0-9]{1,2})\\s*%$" },
            ]
        })
    }
}
