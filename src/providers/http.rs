//! The HTTP layer every provider client shares: the one place requests leave rollcall.
//!
//! - **Credentials stay home.** A client is bound to its target's origin; a request for any other
//!   origin is refused before it is sent, and redirects are never followed (a 3xx is an error
//!   naming where it pointed), so no header or body with a secret reaches another host.
//! - **Everything is bounded.** Each attempt has a connect timeout, a stall timeout and an overall
//!   timeout; an answer body is read in chunks up to a limit for its kind of request; retries and
//!   rate-limit waits are bounded per request and, summed, per run. A wait of more than a few
//!   seconds is announced on stderr.
//! - **Retries.** Reads and idempotent writes are retried on 5xx answers, timeouts and dropped
//!   connections. A create is never retried here: the caller is told the outcome is unknown and
//!   decides (re-reading by natural key first), so a lost response never makes a duplicate user.
//!   A 429 means the request was not processed, so any request may be sent again after the time
//!   the server asks for; the caller does that with [`Http::wait_out`], after renewing its
//!   credentials if they went stale.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hyper::StatusCode;
use reqwest::{Method, RequestBuilder};

use super::pace::{Pace, Signals};
use crate::journal::Journal;

/// How hard to try, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts for a request that fails with 5xx or a transport error (idempotent only).
    pub attempts: u32,
    /// The first backoff; it doubles each time, with jitter.
    pub base_delay: Duration,
    /// Waits on 429 one request may take before giving up.
    pub rate_limit_waits: u32,
    /// The longest single wait honoured, whatever `Retry-After` asks.
    pub max_wait: Duration,
    /// Connecting, sending and reading one answer, headers and body, take at most this long.
    pub attempt_timeout: Duration,
    /// An answer that sends nothing for this long is given up.
    pub stall_timeout: Duration,
    /// All attempts of one request, with their backoffs and rate-limit waits, end by then.
    pub request_deadline: Duration,
    /// All backoffs and rate-limit waits of a run, summed, stay within this.
    pub run_wait_budget: Duration,
    /// A request still unanswered after this long, or a wait longer than it, is announced.
    pub notice_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(200),
            rate_limit_waits: 20,
            max_wait: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(30),
            request_deadline: Duration::from_secs(120),
            run_wait_budget: Duration::from_secs(30 * 60),
            notice_after: Duration::from_secs(5),
        }
    }
}

/// What a request is, which decides how it is retried, whether it is journaled, and how large
/// an answer it may get.
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

impl Kind {
    /// The largest answer body read for this kind of request: a list page of a thousand users
    /// is well under a megabyte, a token or a single record a few kilobytes.
    pub fn body_limit(self) -> usize {
        match self {
            Kind::Read => 32 << 20,
            Kind::Auth => 64 << 10,
            Kind::Write { .. } => 4 << 20,
        }
    }
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

/// Why a request has no usable answer.
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
    /// The service answered with a redirect, which is never followed.
    #[error(
        "{method} {path}: the service answered {status} to {location}; rollcall never follows redirects with credentials. Point `url` at the final address"
    )]
    Redirected {
        method: Method,
        path: String,
        status: u16,
        /// The origin the redirect pointed to (never its path or query), or a note that none was given.
        location: String,
    },
    /// The answer was larger than rollcall reads for this kind of request.
    #[error("{method} {path}: the answer is larger than {} KiB, more than rollcall reads for this request", limit >> 10)]
    TooLarge {
        method: Method,
        path: String,
        limit: usize,
    },
    /// A request was about to go somewhere other than the target.
    #[error(
        "refusing to send a request to {to}: the target is {target}, and credentials go nowhere else"
    )]
    OffTarget { to: String, target: String },
    /// The waits for this request, or for the whole run, used up their time.
    #[error("{path}: {why}")]
    OutOfTime { path: String, why: String },
}

/// Answers received to reads in this process, for showing progress while an account is read.
static READS: AtomicU64 = AtomicU64::new(0);

/// How many reads have been answered so far in this process.
pub fn reads_answered() -> u64 {
    READS.load(Ordering::Relaxed)
}

/// A shared HTTP client for one target.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    /// The only origin requests may go to.
    origin: url::Origin,
    policy: RetryPolicy,
    journal: Option<Journal>,
    /// Milliseconds spent in backoffs and rate-limit waits so far in this run, by all requests.
    waited_ms: Arc<AtomicU64>,
    /// How many requests may be in flight and when the next may start, shared by the run.
    pace: Arc<Pace>,
}

/// Installs the process-wide TLS crypto provider, once.
pub fn init_tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The rate-limit waits of one request so far; start one per request with `Waits::default()`.
#[derive(Debug)]
pub struct Waits {
    count: u32,
    started: Instant,
}

impl Default for Waits {
    fn default() -> Self {
        Waits {
            count: 0,
            started: Instant::now(),
        }
    }
}

impl Http {
    /// A client for the target at `base`, which must pass [`parse_target_url`]: it is checked
    /// here again, right before anything connects.
    ///
    /// [`parse_target_url`]: crate::model::vocab::parse_target_url
    pub fn new(base: &str, policy: RetryPolicy, journal: Option<Journal>) -> anyhow::Result<Self> {
        let url = crate::model::vocab::parse_target_url(base)
            .map_err(|problem| anyhow::anyhow!("the target URL {problem}"))?;
        init_tls();
        let client = reqwest::Client::builder()
            .user_agent(concat!("rollcall/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10).min(policy.attempt_timeout))
            .read_timeout(policy.stall_timeout)
            .timeout(policy.attempt_timeout)
            .pool_max_idle_per_host(32)
            .build()?;
        Ok(Http {
            client,
            origin: url.origin(),
            policy,
            journal,
            waited_ms: Arc::new(AtomicU64::new(0)),
            pace: Arc::new(Pace::default()),
        })
    }

    /// This client, sharing `pace` with the other clients of the run.
    pub fn with_pace(mut self, pace: Arc<Pace>) -> Self {
        self.pace = pace;
        self
    }

    /// Sends the request `build` makes, retrying as the policy and the request's `kind` allow.
    /// `build` gets the client and the request id; the request it makes must be for the target's
    /// origin, or it is not sent.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        kind: Kind,
        build: impl Fn(&reqwest::Client, &str) -> RequestBuilder,
    ) -> Result<Answer, TransportError> {
        let idempotent = !matches!(kind, Kind::Write { idempotent: false });
        let write = matches!(kind, Kind::Write { .. });
        let started = Instant::now();
        let mut failures = 0;
        loop {
            let request_id = uuid::Uuid::new_v4().to_string();
            let request = build(&self.client, &request_id)
                .header("X-Request-Id", &request_id)
                .build();
            let mut request = match request {
                Ok(request) => request,
                Err(err) => {
                    return Err(TransportError::Unknown {
                        method,
                        path: path.to_string(),
                        cause: format!("the request could not be made: {}", describe(&err)),
                    });
                }
            };
            if request.url().origin() != self.origin {
                return Err(TransportError::OffTarget {
                    to: request.url().origin().ascii_serialization(),
                    target: self.origin.ascii_serialization(),
                });
            }
            // No attempt runs past the request's deadline.
            let left = self
                .policy
                .request_deadline
                .saturating_sub(started.elapsed());
            *request.timeout_mut() = Some(left.min(self.policy.attempt_timeout));
            let ticket = self.pace.turn().await;
            let sent_at = Instant::now();
            let outcome = self.exchange(request, &method, path, kind).await;
            ticket.answered(Signals {
                write,
                ..signals(&outcome)
            });
            // `-vv`: one line per request; never a header value, a query or a body.
            let ms = sent_at.elapsed().as_millis();
            match &outcome {
                Ok(Exchange::Answer((status, ..), _) | Exchange::Refused(status, _)) => {
                    tracing::debug!("{method} {path} {} {ms} ms {request_id}", status.as_u16());
                }
                Err(cause) => {
                    tracing::debug!("{method} {path} failed ({cause}) {ms} ms {request_id}")
                }
            }
            let outcome = match outcome {
                Ok(Exchange::Answer(answer, _)) => Ok(answer),
                Ok(Exchange::Refused(status, refusal)) => {
                    if write {
                        self.record(&method, path, Some(status), None, &request_id);
                    }
                    return Err(match refusal {
                        Refusal::Redirect { location } => TransportError::Redirected {
                            method,
                            path: path.to_string(),
                            status: status.as_u16(),
                            location,
                        },
                        Refusal::TooLarge => TransportError::TooLarge {
                            method,
                            path: path.to_string(),
                            limit: kind.body_limit(),
                        },
                    });
                }
                Err(cause) => Err(cause),
            };
            match outcome {
                Ok((status, body, retry_after)) => {
                    if kind == Kind::Read {
                        READS.fetch_add(1, Ordering::Relaxed);
                    }
                    if write {
                        self.record(&method, path, Some(status), None, &request_id);
                    }
                    let retry = status.is_server_error() && idempotent;
                    if retry && failures + 1 < self.policy.attempts {
                        failures += 1;
                        let why = status.to_string();
                        if self.backoff(&method, path, started, failures, &why).await {
                            continue;
                        }
                    }
                    if retry {
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
                    if idempotent
                        && failures + 1 < self.policy.attempts
                        && self
                            .backoff(&method, path, started, failures + 1, &cause)
                            .await
                    {
                        failures += 1;
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

    /// One attempt: sends the request and reads its answer within the body limit, saying on
    /// stderr when the answer is slow to come.
    async fn exchange(
        &self,
        request: reqwest::Request,
        method: &Method,
        path: &str,
        kind: Kind,
    ) -> Result<Exchange, String> {
        let host = request
            .url()
            .host_str()
            .unwrap_or("the service")
            .to_string();
        let attempt = async {
            let response = self
                .client
                .execute(request)
                .await
                .map_err(|e| describe(&e))?;
            read_answer(response, kind.body_limit()).await
        };
        tokio::pin!(attempt);
        tokio::select! {
            outcome = &mut attempt => return outcome,
            () = tokio::time::sleep(self.policy.notice_after) => {}
        }
        tracing::warn!(
            "no answer yet from {host} to {method} {path} after {}; waiting up to {}",
            seconds(self.policy.notice_after),
            seconds(self.policy.attempt_timeout)
        );
        attempt.await
    }

    /// After a 429: waits as long as the server asked (within the policy) and returns true;
    /// returns false for any other answer. Fails when this request has waited often or long
    /// enough, or the run has used up its time for waiting.
    pub async fn wait_out(
        &self,
        answer: &Answer,
        path: &str,
        waits: &mut Waits,
    ) -> Result<bool, TransportError> {
        if answer.status != StatusCode::TOO_MANY_REQUESTS {
            return Ok(false);
        }
        let out_of_time = |why: String| TransportError::OutOfTime {
            path: path.to_string(),
            why,
        };
        if waits.count >= self.policy.rate_limit_waits {
            return Err(out_of_time(format!(
                "the service is still rate limiting after {} waits; try again later, or with a lower `--parallelism`",
                waits.count
            )));
        }
        let wait = answer
            .retry_after
            .unwrap_or(Duration::from_secs(1))
            .min(self.policy.max_wait);
        if waits.started.elapsed() + wait > self.policy.request_deadline {
            return Err(out_of_time(format!(
                "the service asks to wait {} more, beyond the {} rollcall gives one request; try again later",
                seconds(wait),
                seconds(self.policy.request_deadline)
            )));
        }
        self.spend(wait).map_err(out_of_time)?;
        waits.count += 1;
        if wait >= self.policy.notice_after {
            tracing::warn!("rate limited by the service: waiting {}", seconds(wait));
        } else {
            tracing::info!("{path}: rate limited, waiting {:.1}s", wait.as_secs_f64());
        }
        tokio::time::sleep(wait + jitter(Duration::from_millis(100))).await;
        Ok(true)
    }

    /// Takes `wait` from the run's budget for waiting, or says why it cannot.
    fn spend(&self, wait: Duration) -> Result<(), String> {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let budget = u64::try_from(self.policy.run_wait_budget.as_millis()).unwrap_or(u64::MAX);
        let before = self.waited_ms.fetch_add(ms, Ordering::Relaxed);
        if before.saturating_add(ms) > budget {
            self.waited_ms.fetch_sub(ms, Ordering::Relaxed);
            return Err(format!(
                "this run has already waited {} s for the service, the most it waits; try again later",
                before / 1000
            ));
        }
        Ok(())
    }

    /// Sleeps before retry `failures`, and returns true; or returns false when the wait would
    /// pass the request's deadline or the run's budget.
    async fn backoff(
        &self,
        method: &Method,
        path: &str,
        started: Instant,
        failures: u32,
        why: &str,
    ) -> bool {
        let delay = self.policy.base_delay * 2u32.saturating_pow(failures - 1);
        let delay = delay.min(Duration::from_secs(10));
        let delay = delay + jitter(delay);
        if started.elapsed() + delay > self.policy.request_deadline || self.spend(delay).is_err() {
            return false;
        }
        tracing::info!(
            "{method} {path}: {why}; retrying in {:.1}s",
            delay.as_secs_f64()
        );
        tokio::time::sleep(delay).await;
        true
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

/// What one attempt brought back.
enum Exchange {
    /// Status, body and the wait a rate limit asked for, in seconds, with the budget the
    /// service announced.
    Answer((StatusCode, Vec<u8>, Option<f64>), Budget),
    /// An answer with this status that is not used.
    Refused(StatusCode, Refusal),
}

/// `X-RateLimit-Remaining` and the window it counts, where a service sends them.
#[derive(Clone, Copy, Debug, Default)]
struct Budget {
    remaining: Option<u32>,
    /// `w=` of `RateLimit-Policy`, in seconds.
    window: Option<u64>,
}

/// What an attempt's outcome tells the run's [`Pace`].
fn signals(outcome: &Result<Exchange, String>) -> Signals {
    match outcome {
        Ok(Exchange::Answer((status, _, retry_after), budget)) => Signals {
            status: Some(status.as_u16()),
            retry_after: retry_after
                .and_then(|s| Duration::try_from_secs_f64(s.clamp(0.0, 86_400.0)).ok()),
            remaining: budget.remaining,
            period: budget.window.map(Duration::from_secs),
            write: false,
        },
        Ok(Exchange::Refused(status, _)) => Signals {
            status: Some(status.as_u16()),
            ..Signals::default()
        },
        Err(_) => Signals::default(),
    }
}

/// Why an answer is not used.
enum Refusal {
    /// A 3xx, never followed; `location` names only the origin it pointed to.
    Redirect { location: String },
    /// The body went past the limit; reading stopped there.
    TooLarge,
}

/// Reads an answer's status, rate-limit headers and body, stopping at `limit` bytes.
async fn read_answer(mut response: reqwest::Response, limit: usize) -> Result<Exchange, String> {
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map_or_else(
                || "no address (no `Location`)".to_string(),
                |to| match response.url().join(to) {
                    Ok(to) => to.origin().ascii_serialization(),
                    Err(_) => "an address that is not a URL".to_string(),
                },
            );
        return Ok(Exchange::Refused(status, Refusal::Redirect { location }));
    }
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
    let count = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    let window = response
        .headers()
        .get("ratelimit-policy")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let w = v
                .split(';')
                .find_map(|part| part.trim().strip_prefix("w="))?;
            w.trim().parse::<u64>().ok()
        });
    let budget = Budget {
        remaining: count("x-ratelimit-remaining"),
        window,
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(Exchange::Refused(status, Refusal::TooLarge));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > limit {
            return Ok(Exchange::Refused(status, Refusal::TooLarge));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Exchange::Answer((status, body, retry_after), budget))
}

/// A duration for people: whole seconds, or tenths below ten seconds.
fn seconds(duration: Duration) -> String {
    let s = duration.as_secs_f64();
    if s >= 10.0 || s.fract() == 0.0 {
        format!("{} s", s.round())
    } else {
        format!("{s:.1} s")
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
    } else if err.is_request() || err.is_body() || err.is_decode() {
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
