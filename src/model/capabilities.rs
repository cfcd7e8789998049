//! What each provider can express: the contract the validator checks files against and the
//! planner plans within, so a field or state a provider cannot express is a validation error
//! rather than an apply-time failure. Plain data, below everything that uses it.

use super::vocab::{Provider, State, Unmanaged};

/// The gentlest removal a provider offers for `state: absent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// The user is deleted (for good, or to a restorable trash).
    Delete,
    /// The user is kept but cannot sign in.
    Deactivate,
}

/// How a username is matched: trimmed and lower-cased, since BEdita's uniqueness check (a
/// database index) commonly ignores case.
pub fn username_key(username: &str) -> String {
    username.trim().to_lowercase()
}

/// How a provider models roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Roles {
    /// No roles; access is expressed another way.
    None,
    /// Exactly one of a fixed set per user.
    OneOf(&'static [&'static str]),
    /// Any number of roles declared under the file's `roles`.
    Declared,
}

/// What a provider supports.
#[derive(Clone, Copy, Debug)]
pub struct Capabilities {
    /// The product's name, for messages.
    pub name: &'static str,
    /// The user key that identifies a person.
    pub identity: &'static str,
    /// User keys besides the identity that the provider stores.
    pub user_fields: &'static [&'static str],
    /// Keys a user must have unless `state: absent`.
    pub required_fields: &'static [&'static str],
    pub states: &'static [State],
    pub unmanaged: &'static [Unmanaged],
    pub roles: Roles,
    /// The role whose holders run the account (owners, admins); there is always one left. Where
    /// the provider has no roles, a flag of that name (`admin: true`) plays the part.
    pub admin_role: Option<&'static str>,
    /// The id of a built-in administrator that is never removed or stripped of `admin_role`.
    pub builtin_admin: Option<&'static str>,
    /// Whether users are given plans.
    pub plans: bool,
    /// App and meta-site permissions and user groups can be managed (Piwik PRO).
    pub access: bool,
    /// Primary languages the provider accepts, when it restricts them.
    pub languages: Option<&'static [&'static str]>,
    /// Languages must name a region (`de-DE`): a bare `de` may be refused by the service.
    pub language_region: bool,
    /// Accepted sets of credential keys; one must match exactly.
    pub credentials: &'static [&'static [&'static str]],
    /// Length limits of the initial password, in characters.
    pub password_len: Option<(usize, usize)>,
    /// How `state: absent` is carried out, in words.
    pub removal: &'static str,
    /// How `state: absent` is carried out.
    pub absent: Removal,
    /// Whether a user can be created deactivated, rather than created and then deactivated.
    pub create_sets_state: bool,
    /// Whether a deactivated user's fields and roles can still be changed.
    pub updates_deactivated: bool,
    /// Whether the user list shows each user's identity as documented; where it does not, users
    /// are matched by email, so a leaver needs its email.
    pub lists_identity: bool,
    /// Whether a user can be created only with an initial password.
    pub create_needs_password: bool,
    /// Whether a deactivation leaves the user's sessions open, so the reader is logged out too.
    pub logs_out: bool,
    /// What creating a user is called: "invite", "create".
    pub create_verb: &'static str,
    pub create_verb_past: &'static str,
    /// What has happened to a deleted user: "deleted", "moved to the trash".
    pub delete_verb_past: &'static str,
}

/// The region a primary language most often goes with, for hints: `de` to `de-DE`.
pub fn usual_region(primary: &str) -> &'static str {
    match primary {
        "ca" | "es" => "ES",
        "de" => "DE",
        "fi" => "FI",
        "fr" => "FR",
        "nl" => "NL",
        "sv" => "SE",
        _ => "US",
    }
}

/// Piwik PRO's supported primary languages (Users API v2, from the 2023-11 revision on).
pub const PIWIK_LANGUAGES: &[&str] = &["ca", "de", "en", "es", "fi", "fr", "nl", "sv"];

const PIWIK_PRO: Capabilities = Capabilities {
    name: "Piwik PRO",
    identity: "email",
    user_fields: &["language", "roles", "apps", "meta_sites"],
    required_fields: &[],
    states: &[State::Active, State::Absent],
    unmanaged: &[Unmanaged::Ignore, Unmanaged::Report, Unmanaged::Delete],
    roles: Roles::OneOf(&["owner", "user"]),
    admin_role: Some("owner"),
    builtin_admin: None,
    plans: false,
    access: true,
    languages: Some(PIWIK_LANGUAGES),
    language_region: true,
    credentials: &[&["client_id", "client_secret"]],
    password_len: None,
    removal: "deleted (Piwik PRO has no deactivation)",
    absent: Removal::Delete,
    create_sets_state: false,
    updates_deactivated: false,
    lists_identity: true,
    create_needs_password: false,
    logs_out: false,
    create_verb: "invite",
    create_verb_past: "invited",
    delete_verb_past: "deleted",
};

const PUBLICA_LA: Capabilities = Capabilities {
    name: "Publica.la",
    identity: "external_id",
    user_fields: &[
        "email",
        "former_emails",
        "password",
        "plan",
        "plan_valid_to",
        "admin",
        "plan_admin",
        "only_sees_readable",
        "sessions_limit",
        "force_logout",
    ],
    required_fields: &["email"],
    states: &[State::Active, State::Deactivated, State::Absent],
    unmanaged: &[
        Unmanaged::Ignore,
        Unmanaged::Report,
        Unmanaged::Deactivate,
        Unmanaged::Delete,
    ],
    roles: Roles::None,
    admin_role: Some("admin"),
    builtin_admin: None,
    plans: true,
    access: false,
    languages: None,
    language_region: false,
    credentials: &[&["api_token"]],
    password_len: Some((8, 255)),
    removal: "deactivated (Publica.la's only removal)",
    absent: Removal::Deactivate,
    create_sets_state: false,
    updates_deactivated: false,
    lists_identity: false,
    create_needs_password: true,
    logs_out: true,
    create_verb: "create",
    create_verb_past: "created",
    delete_verb_past: "deleted",
};

const BEDITA: Capabilities = Capabilities {
    name: "BEdita",
    identity: "username",
    user_fields: &["email", "name", "surname", "language", "password", "roles"],
    required_fields: &[],
    states: &[State::Active, State::Deactivated, State::Absent],
    unmanaged: &[
        Unmanaged::Ignore,
        Unmanaged::Report,
        Unmanaged::Deactivate,
        Unmanaged::Delete,
    ],
    roles: Roles::Declared,
    admin_role: Some("admin"),
    builtin_admin: Some("1"),
    plans: false,
    access: false,
    languages: None,
    language_region: false,
    credentials: &[
        &["api_key", "username", "password"],
        &["api_key", "client_secret"],
    ],
    password_len: Some((1, 1024)),
    removal: "soft-deleted to the trash (restorable)",
    absent: Removal::Delete,
    create_sets_state: true,
    updates_deactivated: true,
    lists_identity: true,
    create_needs_password: false,
    logs_out: false,
    create_verb: "create",
    create_verb_past: "created",
    delete_verb_past: "moved to the trash",
};

impl Provider {
    /// What this provider supports.
    pub fn capabilities(self) -> &'static Capabilities {
        match self {
            Provider::PiwikPro => &PIWIK_PRO,
            Provider::PublicaLa => &PUBLICA_LA,
            Provider::Bedita => &BEDITA,
        }
    }
}

/// ISO 3166-1 alpha-2 country codes, which Piwik PRO requires as language regions.
pub const ISO_3166_ALPHA2: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_sorted_and_complete() {
        assert!(ISO_3166_ALPHA2.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ISO_3166_ALPHA2.len(), 249);
    }
}
