//! The APIs rollcall speaks, and what each can express.
//!
//! [`Capabilities`] is the contract the validator checks files against, so a field or state a
//! provider cannot express is a validation error rather than an apply-time failure.

pub mod bedita;
pub mod connect;
pub mod http;
pub mod pace;
pub mod piwik;
pub mod publica;
pub mod sandbox;

use std::future::Future;

use crate::escape::visible;
use crate::model::LiveState;
use crate::model::access::{AccessScope, LiveAccess};
use crate::model::vocab::Provider;
use crate::plan::Action;

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

/// What a carried-out action did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    /// The new user's (or role's) id, for a create.
    pub id: Option<String>,
    /// The user to be created existed already (someone else, or an interrupted run, created it
    /// with the same identity), and was taken over with the file's attributes.
    pub adopted: bool,
}

impl From<Option<String>> for Effect {
    fn from(id: Option<String>) -> Self {
        Effect { id, adopted: false }
    }
}

/// The account of whichever provider a target names.
#[derive(Clone)]
pub struct AnyAccount(std::sync::Arc<dyn DynAccount>);

impl AnyAccount {
    pub fn new<A: Account>(account: A) -> Self {
        AnyAccount(std::sync::Arc::new(account))
    }

    /// Why these credentials can read the account but not change it, if they cannot.
    pub fn read_only(&self) -> Option<&'static str> {
        self.0.read_only()
    }
}

/// A future a boxed account returns.
type Boxed<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// [`Account`] in a form that can sit behind a pointer, so that no code outside a provider's
/// folder needs to name it.
trait DynAccount: Send + Sync {
    fn fetch(&self) -> Boxed<'_, LiveState>;
    fn fetch_access<'a>(&'a self, scope: &'a AccessScope) -> Boxed<'a, LiveAccess>;
    fn execute<'a>(&'a self, action: &'a Action, id: Option<&'a str>) -> Boxed<'a, Effect>;
    fn read_only(&self) -> Option<&'static str>;
}

impl<A: Account> DynAccount for A {
    fn fetch(&self) -> Boxed<'_, LiveState> {
        Box::pin(Account::fetch(self))
    }

    fn fetch_access<'a>(&'a self, scope: &'a AccessScope) -> Boxed<'a, LiveAccess> {
        Box::pin(Account::fetch_access(self, scope))
    }

    fn execute<'a>(&'a self, action: &'a Action, id: Option<&'a str>) -> Boxed<'a, Effect> {
        Box::pin(Account::execute(self, action, id))
    }

    fn read_only(&self) -> Option<&'static str> {
        Account::read_only(self)
    }
}

impl Account for AnyAccount {
    async fn fetch(&self) -> Result<LiveState, ProviderError> {
        self.0.fetch().await
    }

    async fn fetch_access(&self, scope: &AccessScope) -> Result<LiveAccess, ProviderError> {
        self.0.fetch_access(scope).await
    }

    async fn execute(&self, action: &Action, id: Option<&str>) -> Result<Effect, ProviderError> {
        self.0.execute(action, id).await
    }

    fn read_only(&self) -> Option<&'static str> {
        self.0.read_only()
    }
}

/// The simulator of `provider`, to run on its own (`rollcall sandbox`).
pub fn standalone_sandbox(
    provider: Provider,
    settings: &sandbox::Settings,
) -> anyhow::Result<sandbox::Standalone> {
    match provider {
        Provider::PiwikPro => piwik::sandbox::standalone(settings),
        Provider::PublicaLa => publica::sandbox::standalone(settings),
        Provider::Bedita => bedita::sandbox::standalone(settings),
    }
}

/// Reaches the target of `desired`, starting the built-in sandbox for `url: sandbox`. The one
/// place that names every provider's client.
pub async fn connect(
    desired: &crate::model::DesiredState,
    journal: Option<crate::journal::Journal>,
    pace: std::sync::Arc<pace::Pace>,
) -> anyhow::Result<connect::Connection> {
    let target = connect::Target {
        desired,
        journal,
        pace,
    };
    match desired.target.provider {
        Provider::PiwikPro => piwik::connect::connect(target).await,
        Provider::PublicaLa => publica::connect::connect(target).await,
        Provider::Bedita => bedita::connect::connect(target).await,
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
    let mut items = Vec::new();
    fetch_pages_in_order(keys, fetch, |page| items.extend(page)).await?;
    Ok(items)
}

/// [`fetch_pages`], handing the pages to `sink` in `keys` order as soon as each and those before
/// it have arrived: a caller can keep the items as they come, and only the few pages that
/// arrive early wait.
pub async fn fetch_pages_in_order<T, F, Fut>(
    keys: impl Iterator<Item = u64>,
    fetch: F,
    mut sink: impl FnMut(Vec<T>),
) -> Result<(), ProviderError>
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
    // Pages that arrived before one of those ahead of them, by place.
    let mut early: std::collections::BTreeMap<usize, Vec<T>> = std::collections::BTreeMap::new();
    let mut handed = 0;
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
        early.insert(index, page?);
        while let Some(page) = early.remove(&handed) {
            sink(page);
            handed += 1;
        }
    }
    Ok(())
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
    ) -> impl Future<Output = Result<Effect, ProviderError>> + Send;

    /// Why these credentials can read the account but not change it, if they cannot.
    fn read_only(&self) -> Option<&'static str> {
        None
    }

    /// Apps, meta sites, groups and the permissions `scope` covers (Piwik PRO). The files of
    /// other providers cannot ask for access; they are refused when loaded.
    fn fetch_access(
        &self,
        scope: &AccessScope,
    ) -> impl Future<Output = Result<LiveAccess, ProviderError>> + Send {
        let _ = scope;
        async {
            Err(ProviderError::Protocol(
                "this provider has no user groups or app permissions".into(),
            ))
        }
    }
}

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
}
