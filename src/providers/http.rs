//! The HTTP layer every provider client shares: timeouts, retries with jittered backoff,
//! `Retry-After`, request ids, and the journal of writes.
//!
//! Reads and idempotent writes are retried on 5xx answers, timeouts and dropped connections. A
//! create is never retried here: the caller is told the outcome is unknown and decides (re-reading
//! by natural key first), so a lost response never makes a duplicate user. A 429 means the request
//! was not processed, so any request may be sent again after the time the server asks for; the
//! caller does that with [`Http::wait_out`], after renewing its credentials if they went stale.

use std::time::Duration;

use hyper::StatusCode;
use reqwest::{Method, RequestBuilder};

use crate::apply::journal::Journal;

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts for a request that fails with 5xx or a transport error (idempotent only).
    pub attempts: u32,
    /// The first backoff; it doubles each time, with jitter.
    pub base_delay: Duration,
    /// Waits on 429 before giving up.
    pub rate_limit_waits: u32,
    /// The longest `Retry-After` honoured.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(200),
            rate_limit_waits: 20,
            max_wait: Duration::from_secs(120),
        }
    }
}

/// What a request is, which decides how it is retried and whether it is journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reads nothing but state: retried freely, not journaled.
    Read,
    /// Signs in: retried freely, not journaled (its body holds credentials).
    Auth,
    /// Changes state. `idempotent` writes are retried; others are handed back when the outcome
    /// is unknown.
    Write { idempotent: bool },
}

/// An answer that arrived, whatever its status.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub request_id: String,
    /// The wait a 429 asked for.
    pub retry_after: Option<Duration>,
}

/// Why a request has no answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The request may or may not have been processed (timeout, dropped connection).
    #[error("{method} {path}: no answer ({cause})")]
    Unknown {
        method: Method,
        path: String,
        cause: String,
    },
    /// The service kept answering 5xx or 429.
    #[error("{method} {path}: HTTP {status} after {attempts} attempts")]
    GaveUp {
        method: Method,
        path: String,
        status: StatusCode,
        attempts: u32,
        body: Vec<u8>,
    },
}

/// A shared HTTP client for one target.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    policy: RetryPolicy,
    journal: Option<Journal>,
}

/// Installs the process-wide TLS crypto provider, once.
fn init_tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Http {
    pub fn new(policy: RetryPolicy, journal: Option<Journal>) -> anyhow::Result<Self> {
        init_tls();
        let client = reqwest::Client::builder()
            .user_agent(concat!("rollcall/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(32)
            .build()?;
        Ok(Http {
            client,
            policy,
            journal,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes, retrying as the policy and the request's `kind` allow.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        kind: Kind,
        build: impl Fn(&reqwest::Client, &str) -> RequestBuilder,
    ) -> Result<Answer, TransportError> {
        let idempotent = !matches!(kind, Kind::Write { idempotent: false });
        let write = matches!(kind, Kind::Write { .. });
        let mut failures = 0;
        loop {
            let request_id = uuid::Uuid::new_v4().to_string();
            let sent = build(&self.client, &request_id)
                .header("X-Request-Id", &request_id)
                .send()
                .await;
            let outcome = match sent {
                Ok(response) => {
                    let status = response.status();
                    let header = |name| {
                        response
                            .headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<f64>().ok())
                    };
                    // `Retry-After` if given, else the time `X-RateLimit-Reset` names.
                    let retry_after = header(reqwest::header::RETRY_AFTER.as_str()).or_else(|| {
                        let reset = header("x-ratelimit-reset")?;
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .ok()?
                            .as_secs_f64();
                        Some(reset - now)
                    });
                    match response.bytes().await {
                        Ok(body) => Ok((status, body.to_vec(), retry_after)),
                        Err(err) => Err(err.to_string()),
                    }
                }
                Err(err) => Err(describe(&err)),
            };
            match outcome {
                Ok((status, body, retry_after)) => {
                    if write {
                        self.record(&method, path, Some(status), None, &request_id);
                    }
                    if status.is_server_error() && idempotent && failures + 1 < self.policy.attempts
                    {
                        failures += 1;
                        self.backoff(&method, path, failures, &status.to_string())
                            .await;
                        continue;
                    }
                    if status.is_server_error() && idempotent {
                        return Err(TransportError::GaveUp {
                            method,
                            path: path.to_string(),
                            status,
                            attempts: failures + 1,
                            body,
                        });
                    }
                    return Ok(Answer {
                        status,
                        body,
                        request_id,
                        // Whatever the server sent, the wait is a finite, non-negative duration.
                        retry_after: retry_after
                            .and_then(|s| Duration::try_from_secs_f64(s.clamp(0.0, 86_400.0)).ok()),
                    });
                }
                Err(cause) => {
                    if write {
                        self.record(&method, path, None, Some(&cause), &request_id);
                    }
                    if idempotent && failures + 1 < self.policy.attempts {
                        failures += 1;
                        self.backoff(&method, path, failures, &cause).await;
                        continue;
                    }
                    return Err(TransportError::Unknown {
                        method,
                        path: path.to_string(),
                        cause,
                    });
                }
            }
        }
    }

    /// After a 429: waits as long as the server asked (within the policy) and returns true, or
    /// returns false when this request has waited often enough. `waits` counts the waits so far.
    pub async fn wait_out(&self, answer: &Answer, path: &str, waits: &mut u32) -> bool {
        if answer.status != StatusCode::TOO_MANY_REQUESTS || *waits >= self.policy.rate_limit_waits
        {
            return false;
        }
        *waits += 1;
        let wait = answer
            .retry_after
            .unwrap_or(Duration::from_secs(1))
            .min(self.policy.max_wait);
        tracing::info!("{path}: rate limited, waiting {:.1}s", wait.as_secs_f64());
        tokio::time::sleep(wait + jitter(Duration::from_millis(100))).await;
        true
    }

    async fn backoff(&self, method: &Method, path: &str, failures: u32, why: &str) {
        let delay = self.policy.base_delay * 2u32.saturating_pow(failures - 1);
        let delay = delay.min(Duration::from_secs(10));
        tracing::info!(
            "{method} {path}: {why}; retrying in {:.1}s",
            delay.as_secs_f64()
        );
        tokio::time::sleep(delay + jitter(delay)).await;
    }

    fn record(
        &self,
        method: &Method,
        path: &str,
        status: Option<StatusCode>,
        error: Option<&str>,
        request_id: &str,
    ) {
        if let Some(journal) = &self.journal {
            journal.write(serde_json::json!({
                "event": "request",
                "method": method.as_str(),
                "path": path,
                "status": status.map(|s| s.as_u16()),
                "error": error,
                "request_id": request_id,
            }));
        }
    }
}

/// Up to `scale` of random extra delay, so that parallel retries spread out.
fn jitter(scale: Duration) -> Duration {
    scale.mul_f64(fastrand::f64())
}

/// A transport error in one line, without the URL's query (which may hold a search term).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_request() || err.is_body() {
        "the connection was closed before an answer"
    } else {
        "transport error"
    };
    let mut source = std::error::Error::source(err);
    let mut detail = None;
    while let Some(cause) = source {
        detail = Some(cause.to_string());
        source = cause.source();
    }
    match detail {
        Some(detail) => format!("{kind}: {detail}"),
        None => kind.to_string(),
    }
}
