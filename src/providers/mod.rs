//! The APIs rollcall speaks, and what each can express.
//!
//! [`Capabilities`] is the contract the validator checks files against, so a field or state a
//! provider cannot express is a validation error rather than an apply-time failure.

pub mod bedita;
pub mod http;
pub mod piwik;
pub mod publica;
pub mod sandbox;

use std::future::Future;

use crate::desired::format::{Provider, State, Unmanaged};
use crate::model::LiveState;
use crate::plan::Action;
use crate::render::escape::visible;

/// A failed call to a provider. Its text may quote the service, so it is shown without secrets and
/// with every control character escaped.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The service answered with an error status and, usually, its own explanation.
    #[error("HTTP {status}: {}", if errors.is_empty() { "no details given".to_string() } else { shown(&errors.join("; ")) })]
    Api {
        status: u16,
        /// The service's errors, each as `code: title: detail (at pointer)`.
        errors: Vec<String>,
        /// The machine-readable codes among them.
        codes: Vec<String>,
    },
    /// The credentials were refused.
    #[error("{}", shown(.0))]
    Auth(String),
    /// No usable answer arrived.
    #[error(transparent)]
    Transport(http::TransportError),
    /// The answer was not what the API documents.
    #[error("{}", shown(.0))]
    Protocol(String),
}

/// Text that may quote a service, as it may be shown: without any secret this process holds, and
/// with control characters escaped.
fn shown(text: &str) -> String {
    visible(&crate::redact::scrub(text)).into_owned()
}

impl ProviderError {
    /// Whether the service reported this error code.
    pub fn has_code(&self, code: &str) -> bool {
        matches!(self, ProviderError::Api { codes, .. } if codes.iter().any(|c| c == code))
    }

    /// What the journal records of the error: its kind, the HTTP status and the service's error
    /// codes, never the service's own words, which may echo what was sent (an initial password).
    pub fn summary(&self) -> serde_json::Value {
        use http::TransportError as T;
        let token = |code: &String| {
            (code.len() <= 64
                && code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .then(|| code.clone())
        };
        match self {
            ProviderError::Api { status, codes, .. } => serde_json::json!({
                "kind": "api",
                "http_status": status,
                "codes": codes.iter().filter_map(token).collect::<Vec<_>>(),
            }),
            ProviderError::Auth(_) => serde_json::json!({ "kind": "credentials refused" }),
            ProviderError::Protocol(_) => serde_json::json!({ "kind": "unexpected answer" }),
            ProviderError::Transport(err) => match err {
                T::Unknown { .. } => serde_json::json!({ "kind": "no answer" }),
                T::GaveUp { status, .. } => {
                    serde_json::json!({ "kind": "gave up", "http_status": status.as_u16() })
                }
                T::Redirected { status, .. } => {
                    serde_json::json!({ "kind": "redirected", "http_status": status })
                }
                T::TooLarge { .. } => serde_json::json!({ "kind": "answer too large" }),
                T::OffTarget { .. } => serde_json::json!({ "kind": "off target" }),
                T::OutOfTime { .. } => serde_json::json!({ "kind": "out of time" }),
            },
        }
    }
}

/// The account of whichever provider a target names.
#[derive(Clone)]
pub enum AnyAccount {
    Piwik(std::sync::Arc<piwik::Piwik>),
    Publica(std::sync::Arc<publica::Publica>),
    Bedita(std::sync::Arc<bedita::Bedita>),
}

impl AnyAccount {
    /// Why these credentials can read the account but not change it, if they cannot.
    pub fn read_only(&self) -> Option<&'static str> {
        match self {
            AnyAccount::Bedita(a) => a.read_only(),
            _ => None,
        }
    }
}

impl Account for AnyAccount {
    async fn fetch(&self) -> Result<LiveState, ProviderError> {
        match self {
            AnyAccount::Piwik(a) => a.fetch().await,
            AnyAccount::Publica(a) => a.fetch().await,
            AnyAccount::Bedita(a) => a.fetch().await,
        }
    }

    async fn execute(
        &self,
        action: &Action,
        id: Option<&str>,
    ) -> Result<Option<String>, ProviderError> {
        match self {
            AnyAccount::Piwik(a) => a.execute(action, id).await,
            AnyAccount::Publica(a) => a.execute(action, id).await,
            AnyAccount::Bedita(a) => a.execute(action, id).await,
        }
    }
}

/// How many list pages are fetched at once.
pub const PAGE_CONCURRENCY: usize = 8;
/// The most pages rollcall reads from one list, whatever a server claims.
pub const MAX_PAGES: u64 = 10_000;
/// The most entries (users, roles) rollcall reads from one list: well beyond any account it
/// manages, and small enough that reading them stays within a few hundred megabytes.
pub const MAX_LIST_ITEMS: u64 = 500_000;

/// Refuses a list whose server reports more than [`MAX_LIST_ITEMS`] entries, before reading it.
pub fn check_list_size(reported: u64, what: &str) -> Result<(), ProviderError> {
    if reported > MAX_LIST_ITEMS {
        return Err(ProviderError::Protocol(format!(
            "the service reports {reported} {what}, more than the {MAX_LIST_ITEMS} rollcall reads from one account"
        )));
    }
    Ok(())
}

/// Fetches the pages `keys` names (page numbers or offsets) with at most [`PAGE_CONCURRENCY`] in
/// flight, starting the next as each one finishes, and returns their items in `keys` order.
/// Each page is turned into items by `fetch` as it arrives, so no two wire forms pile up.
pub async fn fetch_pages<T, F, Fut>(
    keys: impl Iterator<Item = u64>,
    fetch: F,
) -> Result<Vec<T>, ProviderError>
where
    T: Send + 'static,
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>> + Send + 'static,
{
    let limit = usize::try_from(MAX_PAGES).unwrap_or(usize::MAX);
    let keys: Vec<u64> = keys.take(limit.saturating_add(1)).collect();
    if keys.len() > limit {
        return Err(ProviderError::Protocol(format!(
            "the list claims more than {MAX_PAGES} pages, more than rollcall reads"
        )));
    }
    let mut pages: Vec<Option<Vec<T>>> = Vec::with_capacity(keys.len());
    pages.resize_with(keys.len(), || None);
    let mut running = tokio::task::JoinSet::new();
    let mut next = keys.iter().enumerate();
    loop {
        while running.len() < PAGE_CONCURRENCY
            && let Some((index, &key)) = next.next()
        {
            let page = fetch(key);
            running.spawn(async move { (index, page.await) });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (index, page) = joined.map_err(|e| ProviderError::Protocol(e.to_string()))?;
        pages[index] = Some(page?);
    }
    Ok(pages.into_iter().flatten().flatten().collect())
}

/// A live account rollcall can read and change, through its provider's API.
pub trait Account: Send + Sync + 'static {
    /// Every user, normalised, and which one the credentials belong to.
    fn fetch(&self) -> impl Future<Output = Result<LiveState, ProviderError>> + Send;

    /// Carries out one action. `id` is the user's id at the provider when known; a create
    /// returns the new user's id.
    fn execute(
        &self,
        action: &Action,
        id: Option<&str>,
    ) -> impl Future<Output = Result<Option<String>, ProviderError>> + Send;
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
    /// The role whose holders run the account (owners, admins); there is always one left.
    pub admin_role: Option<&'static str>,
    /// The id of a built-in administrator that is never removed or stripped of `admin_role`.
    pub builtin_admin: Option<&'static str>,
    /// Whether users are given plans.
    pub plans: bool,
    /// Primary languages the provider accepts, when it restricts them.
    pub languages: Option<&'static [&'static str]>,
    /// Accepted sets of credential keys; one must match exactly.
    pub credentials: &'static [&'static [&'static str]],
    /// Length limits of the initial password, in characters.
    pub password_len: Option<(usize, usize)>,
    /// How `state: absent` is carried out, in words.
    pub removal: &'static str,
    /// The operation that carries out `state: absent`.
    pub absent_op: crate::plan::Op,
    /// Whether a user can be created deactivated, rather than created and then deactivated.
    pub create_sets_state: bool,
    /// What creating a user is called: "invite", "create".
    pub create_verb: &'static str,
    pub create_verb_past: &'static str,
    /// What has happened to a deleted user: "deleted", "moved to the trash".
    pub delete_verb_past: &'static str,
}

/// Piwik PRO's supported primary languages (Users API v2, from the 2023-11 revision on).
pub const PIWIK_LANGUAGES: &[&str] = &["ca", "de", "en", "es", "fi", "fr", "nl", "sv"];

const PIWIK_PRO: Capabilities = Capabilities {
    name: "Piwik PRO",
    identity: "email",
    user_fields: &["language", "roles"],
    required_fields: &[],
    states: &[State::Active, State::Absent],
    unmanaged: &[Unmanaged::Ignore, Unmanaged::Delete],
    roles: Roles::OneOf(&["owner", "user"]),
    admin_role: Some("owner"),
    builtin_admin: None,
    plans: false,
    languages: Some(PIWIK_LANGUAGES),
    credentials: &[&["client_id", "client_secret"]],
    password_len: None,
    removal: "deleted (Piwik PRO has no deactivation)",
    absent_op: crate::plan::Op::Delete,
    create_sets_state: false,
    create_verb: "invite",
    create_verb_past: "invited",
    delete_verb_past: "deleted",
};

const PUBLICA_LA: Capabilities = Capabilities {
    name: "Publica.la",
    identity: "external_id",
    user_fields: &[
        "email",
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
    unmanaged: &[Unmanaged::Ignore, Unmanaged::Deactivate, Unmanaged::Delete],
    roles: Roles::None,
    admin_role: None,
    builtin_admin: None,
    plans: true,
    languages: None,
    credentials: &[&["api_token"]],
    password_len: Some((8, 255)),
    removal: "deactivated (Publica.la's only removal)",
    absent_op: crate::plan::Op::Deactivate,
    create_sets_state: false,
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
    unmanaged: &[Unmanaged::Ignore, Unmanaged::Deactivate, Unmanaged::Delete],
    roles: Roles::Declared,
    admin_role: Some("admin"),
    builtin_admin: Some("1"),
    plans: false,
    languages: None,
    credentials: &[
        &["api_key", "username", "password"],
        &["api_key", "client_secret"],
    ],
    password_len: Some((1, 1024)),
    removal: "soft-deleted to the trash (restorable)",
    absent_op: crate::plan::Op::Delete,
    create_sets_state: true,
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

    #[tokio::test]
    async fn pages_come_back_in_order_with_at_most_eight_in_flight() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let in_flight = std::sync::Arc::new(AtomicUsize::new(0));
        let most = std::sync::Arc::new(AtomicUsize::new(0));
        let (now, peak) = (in_flight.clone(), most.clone());
        let items = fetch_pages(2..=40, move |page| {
            let (now, peak) = (now.clone(), peak.clone());
            async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(running, Ordering::SeqCst);
                // Later pages answer sooner, so completion order is not page order.
                tokio::time::sleep(std::time::Duration::from_millis(41 - page)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(vec![page, page])
            }
        })
        .await
        .unwrap();
        let expected: Vec<u64> = (2..=40).flat_map(|p| [p, p]).collect();
        assert_eq!(items, expected);
        assert_eq!(most.load(Ordering::SeqCst), PAGE_CONCURRENCY);
    }

    #[tokio::test]
    async fn a_server_claiming_endless_pages_is_refused_before_any_is_read() {
        let err = fetch_pages(2..=u64::MAX, |_| async {
            Err::<Vec<u8>, _>(ProviderError::Protocol("no page should be read".into()))
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("more than 10000 pages"), "{err}");
    }

    #[test]
    fn country_codes_are_sorted_and_complete() {
        assert!(ISO_3166_ALPHA2.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ISO_3166_ALPHA2.len(), 249);
    }
}
