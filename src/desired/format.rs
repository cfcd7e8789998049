//! The desired-state file format, version 1, exactly as written in YAML.
//!
//! These types are the single source of truth for the format: the decoder reads files into them
//! and `schema.json` is generated from them. Checks that need only the value itself (an email's
//! syntax, a date, a language tag) happen while decoding; checks that need the whole picture (the
//! provider's capabilities, duplicates across files) happen in [`super::validate`].

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::decode::{Cx, Decode, Spanned, keyword, record};
use super::env;
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
        pub users: Option<Spanned<Vec<Spanned<UserDoc>>>>,
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
        /// What happens to live users in no file: `ignore` (the default), `deactivate` or `delete`.
        pub unmanaged: Option<Spanned<Unmanaged>>,
        /// What happens to live roles no file declares (BEdita): `ignore` (the default) or
        /// `delete`, which first revokes them from every user. Built-in roles are never deleted.
        pub unmanaged_roles: Option<Spanned<UnmanagedRoles>>,
        /// Users never changed or removed: emails or usernames, with `*` and `?` wildcards.
        pub protect: Option<Spanned<Vec<Spanned<Pattern>>>>,
        /// The most removals one run may make: a count (`10`) or a share of live users (`"10%"`).
        pub max_removals: Option<Spanned<MaxRemovals>>,
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
    }
}

keyword! {
    /// The APIs rollcall speaks.
    pub enum Provider as "provider" {
        /// Piwik PRO Users API v2.
        PiwikPro = "piwik-pro",
        /// Publica.la integration API v1.
        PublicaLa = "publica-la",
        /// BEdita 5 JSON:API.
        Bedita = "bedita",
    }
}

keyword! {
    /// Whether a user should have a working account.
    pub enum State as "state" {
        Active = "active",
        Deactivated = "deactivated",
        Absent = "absent",
    }
}

keyword! {
    /// What happens to live users that no file mentions.
    pub enum Unmanaged as "`unmanaged` policy" {
        Ignore = "ignore",
        Deactivate = "deactivate",
        Delete = "delete",
    }
}

keyword! {
    /// What happens to live roles that no file declares.
    pub enum UnmanagedRoles as "`unmanaged_roles` policy" {
        Ignore = "ignore",
        Delete = "delete",
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

/// Where the account lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetUrl {
    /// The built-in simulator.
    Sandbox,
    /// An `https://` URL, or `http://` on a loopback address. No trailing slash.
    Http(String),
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetUrl::Sandbox => f.write_str("sandbox"),
            TargetUrl::Http(url) => f.write_str(url),
        }
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

/// Parses a target's base URL and checks it is safe to send credentials to: `https`, or plain
/// `http` only to a loopback address (`localhost`, `127.0.0.0/8`, `::1`); no `user:pass@`, query
/// or fragment. Every check reads the parsed URL, never the text, so a host such as
/// `127.0.0.1.example.com` or `example.com\@127.0.0.1` is seen for what it is. The loader runs
/// it on the files, and the HTTP client again before it connects.
pub fn parse_target_url(text: &str) -> Result<reqwest::Url, &'static str> {
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("is not a URL");
    }
    let url = reqwest::Url::parse(text).map_err(|_| "is not a URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "holds a user name or password (`user:pass@`); credentials belong under `credentials`",
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("has a query or fragment; write only the account's base address");
    }
    let loopback = match url.host() {
        None => return Err("is not a URL"),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => {
            Err("uses plain `http` to a remote host, which would send credentials unencrypted")
        }
        _ => Err("is not an `https://` URL"),
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

/// A secret, read from the environment. Its value never reaches output, logs or files.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret that did not come from a file (such as the sandbox's own credentials).
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::remember(&value);
        Secret(value)
    }

    /// The value, for the one place that needs it: the request that authenticates.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive value)")
    }
}

/// A credential or password: exactly one `${ENV_VAR}` reference, resolved at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRef {
    /// The variable's name, safe to show.
    pub var: String,
    pub value: Secret,
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
                value: Secret(String::new()),
            });
        };
        cx.secret_vars.push(var.to_string());
        let value = match cx.var(var) {
            Some(value) if !value.is_empty() => value,
            found => {
                let err = if found.is_some() {
                    env::EnvError::Empty(var.to_string())
                } else {
                    env::EnvError::Missing(var.to_string())
                };
                let hint = err.hint();
                cx.error(node.span, err.to_string()).hint = Some(hint);
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

/// A `protect` pattern: an email or username, with `*` for any run of characters and `?` for one.
/// Matching ignores case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(pub String);

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

/// An email address as written (trimmed); compare with [`Email::key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks the shape of an address: one `@`, a non-empty local part, a dotted domain.
    pub fn parse(text: &str) -> Result<Email, &'static str> {
        let text = text.trim();
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err("has no `@`");
        };
        if local.is_empty() || local.len() > 64 {
            return Err("has an empty or over-long part before the `@`");
        }
        if local.contains('@') || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains spaces or a second `@`");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err("has a misplaced dot before the `@`");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) || domain.len() > 253 {
            return Err("does not have a valid domain after the `@`");
        }
        Ok(Email(text.to_string()))
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for matching: lower-cased.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
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

/// A well-formed IETF language tag: `language[-Script][-REGION]`, stored in canonical case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LanguageTag {
    tag: String,
}

impl LanguageTag {
    /// Parses `en`, `en-US`, `zh-Hant-TW`, `es-419`, in any case.
    pub fn parse(text: &str) -> Option<LanguageTag> {
        let mut parts = text.trim().split(['-', '_']);
        let language = parts.next()?;
        if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic())
        {
            return None;
        }
        let mut tag = language.to_ascii_lowercase();
        let mut seen_region = false;
        let mut seen_script = false;
        for part in parts {
            let alpha = part.chars().all(|c| c.is_ascii_alphabetic());
            let digits = part.chars().all(|c| c.is_ascii_digit());
            if part.len() == 4 && alpha && !seen_script && !seen_region {
                seen_script = true;
                tag.push('-');
                tag.push_str(&part[..1].to_ascii_uppercase());
                tag.push_str(&part[1..].to_ascii_lowercase());
            } else if ((part.len() == 2 && alpha) || (part.len() == 3 && digits)) && !seen_region {
                seen_region = true;
                tag.push('-');
                tag.push_str(&part.to_ascii_uppercase());
            } else {
                return None;
            }
        }
        Some(LanguageTag { tag })
    }

    pub fn as_str(&self) -> &str {
        &self.tag
    }

    /// The primary language subtag: `en` of `en-US`.
    pub fn primary(&self) -> &str {
        self.tag.split('-').next().unwrap_or(&self.tag)
    }

    /// The region subtag: `US` of `en-US`.
    pub fn region(&self) -> Option<&str> {
        self.tag.split('-').skip(1).find(|p| p.len() != 4)
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
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

/// A calendar date, `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let year: u16 = text.get(0..4)?.parse().ok()?;
        let month: u8 = text.get(5..7)?.parse().ok()?;
        let day: u8 = text.get(8..10)?.parse().ok()?;
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (year >= 1970 && (1..=days).contains(&day)).then_some(Date { year, month, day })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
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

/// Publica.la's `external_id`: text, though a plain number is accepted as its digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExternalId(pub String);

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

/// The most users one run may remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxRemovals {
    Count(u32),
    /// A whole percentage of the live users, 0 to 100.
    Percent(u8),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ada@Acme.org ").unwrap().as_str(),
            "Ada@Acme.org"
        );
        assert_eq!(Email::parse("Ada@Acme.org").unwrap().key(), "ada@acme.org");
        for bad in [
            "ada",
            "ada@",
            "@acme.org",
            "ada@acme",
            "a b@acme.org",
            "ada@@acme.org",
            "ada@acme..org",
            "ada.@acme.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn language_tags_are_canonicalised() {
        let tag = LanguageTag::parse("en-us").unwrap();
        assert_eq!(tag.as_str(), "en-US");
        assert_eq!((tag.primary(), tag.region()), ("en", Some("US")));
        assert_eq!(
            LanguageTag::parse("zh_hant_tw").unwrap().as_str(),
            "zh-Hant-TW"
        );
        assert_eq!(LanguageTag::parse("es-419").unwrap().as_str(), "es-419");
        assert_eq!(LanguageTag::parse("de").unwrap().region(), None);
        for bad in ["", "english", "e", "en-", "en-USA1", "en-US-GB", "12"] {
            assert!(LanguageTag::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(Date::parse("2028-02-29").unwrap().to_string(), "2028-02-29");
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "2027-1-1",
            "27-01-01",
            "2027-00-10",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
    }
}
