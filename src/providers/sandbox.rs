//! The HTTP side of every sandbox: a real server on loopback, with injectable faults.
//!
//! A provider's simulator implements [`Api`]: a synchronous function from a [`Request`] to a
//! [`Reply`]. This module serves it over HTTP/1.1 and, when asked, gets in the way the way real
//! services do: a rate limit answering 429 with `Retry-After`, a share of 5xx answers, connections
//! dropped after a write was committed (so the client never learns it succeeded), and latency.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The largest request body a sandbox reads.
const MAX_BODY: usize = 1 << 20;

/// A request as a simulator sees it.
#[derive(Debug)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A simulator's answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
    /// The request changed state; a drop-after-write fault may now cut the connection.
    pub committed: bool,
}

impl Reply {
    pub fn json(
        status: StatusCode,
        content_type: &'static str,
        body: &impl serde::Serialize,
    ) -> Self {
        Reply {
            status,
            content_type,
            body: serde_json::to_vec(body).unwrap_or_default(),
            headers: Vec::new(),
            committed: false,
        }
    }

    pub fn empty(status: StatusCode) -> Self {
        Reply {
            status,
            content_type: "",
            body: Vec::new(),
            headers: Vec::new(),
            committed: false,
        }
    }

    /// Marks the reply as the result of a committed write.
    pub fn committed(mut self) -> Self {
        self.committed = true;
        self
    }
}

/// A simulated API.
pub trait Api: Send + Sync + 'static {
    fn handle(&self, request: &Request) -> Reply;
    /// The reply for an injected fault, in the API's own error format.
    fn fault(&self, status: StatusCode, title: &str) -> Reply;
    /// Whether the API reports its rate limit in `X-RateLimit-*` headers.
    fn rate_limit_headers(&self) -> bool {
        false
    }
    /// Whether a 429 says in `Retry-After` when to come back.
    fn retry_after(&self) -> bool {
        true
    }
}

/// Faults to inject. The default injects none.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// At most this many requests per window; the rest get 429 with `Retry-After`.
    pub rate_limit: Option<(u32, Duration)>,
    /// The share of requests (0 to 1) answered 503 without being processed.
    pub error_share: f64,
    /// The share of committed writes whose connection is dropped before the answer.
    pub drop_share: f64,
    /// Delay before every answer.
    pub latency: Duration,
    /// Seed for the fault dice, so a run can be repeated.
    pub seed: u64,
    /// Answer every request 307 to this address (the `redirect` reading): a client that
    /// follows it would carry its credentials there.
    pub redirect: Option<String>,
    /// Answer 500, without processing it, every request whose path ends with this: one call of
    /// the API out of order while the rest work.
    pub broken: Option<String>,
}

struct Shared {
    api: Arc<dyn Api>,
    faults: Faults,
    dice: Mutex<fastrand::Rng>,
    window: Mutex<(Instant, u32)>,
}

/// How `rollcall sandbox` asks a provider's simulator to start.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Data to start from when there is no state yet.
    pub seed: Option<std::path::PathBuf>,
    /// Where the data is kept between runs.
    pub state: Option<std::path::PathBuf>,
    pub token_lifetime: Duration,
    /// The simulator's own readings of the open points, by name.
    pub variants: Vec<String>,
}

/// A simulator ready to serve on its own: its API, the product's name, and the credentials the
/// banner prints.
pub struct Standalone {
    pub api: Arc<dyn Api>,
    pub name: &'static str,
    pub credentials: Vec<String>,
}

impl Settings {
    /// The data to start from: the state file when it exists, else the seed, else `builtin`.
    /// The state file is written at once, so it exists from the start.
    pub fn starting_data<T: serde::Serialize>(
        &self,
        read: impl Fn(&std::path::Path) -> anyhow::Result<T>,
        builtin: impl Fn() -> T,
        write: impl Fn(&T, &std::path::Path) -> std::io::Result<()>,
    ) -> anyhow::Result<T> {
        let data = match (&self.state, &self.seed) {
            (Some(state), _) if state.exists() => read(state)?,
            (_, Some(seed)) => read(seed)?,
            _ => builtin(),
        };
        if let Some(state) = &self.state {
            write(&data, state).map_err(|err| {
                anyhow::anyhow!("cannot write the state file `{}`: {err}", state.display())
            })?;
        }
        Ok(data)
    }

    /// Turns on every variant through `turn_on`, or names the first one the simulator lacks.
    pub fn apply_variants(
        &self,
        product: &str,
        known: &[(&str, &str)],
        mut turn_on: impl FnMut(&str) -> bool,
    ) -> anyhow::Result<()> {
        for name in &self.variants {
            if !turn_on(name) {
                let list: Vec<String> = known
                    .iter()
                    .map(|(name, what)| format!("`{name}` ({what})"))
                    .collect();
                anyhow::bail!(
                    "the {product} sandbox has no variant `{name}`; it has {}",
                    if list.is_empty() {
                        "none".to_string()
                    } else {
                        list.join(", ")
                    }
                );
            }
        }
        Ok(())
    }
}

/// A running sandbox server. Dropping it stops the server.
pub struct Server {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Server {
    /// The base URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves `api` on `listener` until the returned [`Server`] is dropped.
pub fn spawn(listener: TcpListener, api: Arc<dyn Api>, faults: Faults) -> std::io::Result<Server> {
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let shared = Arc::new(Shared {
        api,
        dice: Mutex::new(fastrand::Rng::with_seed(faults.seed)),
        window: Mutex::new((Instant::now(), 0)),
        faults,
    });
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopped.changed() => break,
            };
            let Ok((stream, _)) = accepted else { continue };
            let shared = shared.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let shared = shared.clone();
                    async move { respond(&shared, request).await }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    _ = stopped.changed() => {}
                }
            });
        }
    });
    Ok(Server { addr, stop })
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

async fn respond(
    shared: &Shared,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Dropped> {
    if !shared.faults.latency.is_zero() {
        tokio::time::sleep(shared.faults.latency).await;
    }
    let reply = match read(request).await {
        Ok(request) => fault_or_handle(shared, &request),
        Err(reply) => reply,
    };
    if reply.committed && shared.faults.drop_share > 0.0 {
        let roll = shared.dice.lock().map_or(1.0, |mut d| d.f64());
        if roll < shared.faults.drop_share {
            tracing::debug!("sandbox: dropping the connection after a committed write");
            return Err(Dropped);
        }
    }
    let mut response = hyper::Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    if !reply.content_type.is_empty() {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}

fn fault_or_handle(shared: &Shared, request: &Request) -> Reply {
    if let Some(to) = &shared.faults.redirect {
        let mut reply = Reply::empty(StatusCode::TEMPORARY_REDIRECT);
        reply
            .headers
            .push(("location", format!("{to}{}", request.path)));
        return reply;
    }
    // Requests left in the window, for APIs that report them.
    let mut remaining = None;
    if let Some((limit, window)) = shared.faults.rate_limit
        && let Ok(mut state) = shared.window.lock()
    {
        let now = Instant::now();
        if now.duration_since(state.0) >= window {
            *state = (now, 0);
        }
        if state.1 >= limit {
            let wait = window.saturating_sub(now.duration_since(state.0));
            let seconds = wait.as_secs_f64().ceil().max(1.0);
            let mut reply = shared
                .api
                .fault(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            if shared.api.retry_after() {
                reply
                    .headers
                    .push((RETRY_AFTER.as_str(), seconds.to_string()));
            }
            if shared.api.rate_limit_headers() {
                let reset = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
                    + seconds as u64;
                reply.headers.push(("x-ratelimit-limit", limit.to_string()));
                reply.headers.push(("x-ratelimit-remaining", "0".into()));
                reply.headers.push(("x-ratelimit-reset", reset.to_string()));
                reply.headers.extend(policy(limit, window));
            }
            return reply;
        }
        state.1 += 1;
        remaining = Some((limit, limit - state.1));
    }
    let broken = shared
        .faults
        .broken
        .as_deref()
        .is_some_and(|end| request.path.ends_with(end));
    let mut reply = if broken {
        shared
            .api
            .fault(StatusCode::INTERNAL_SERVER_ERROR, "Server Error")
    } else if shared.faults.error_share > 0.0
        && shared.dice.lock().map_or(1.0, |mut d| d.f64()) < shared.faults.error_share
    {
        shared
            .api
            .fault(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
    } else {
        shared.api.handle(request)
    };
    if let (Some((limit, left)), true) = (remaining, shared.api.rate_limit_headers()) {
        reply.headers.push(("x-ratelimit-limit", limit.to_string()));
        reply
            .headers
            .push(("x-ratelimit-remaining", left.to_string()));
        if let Some((_, window)) = shared.faults.rate_limit {
            reply.headers.extend(policy(limit, window));
        }
    }
    reply
}

/// `X-RateLimit-Limit` counts per minute, as Publica.la documents; a simulator configured with
/// another window says so, in the standard `RateLimit-Policy` header, rather than mislead.
fn policy(limit: u32, window: Duration) -> Option<(&'static str, String)> {
    let seconds = window.as_secs().max(1);
    (seconds != 60).then(|| ("ratelimit-policy", format!("{limit};w={seconds}")))
}

async fn read(request: hyper::Request<Incoming>) -> Result<Request, Reply> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(Reply::empty(StatusCode::PAYLOAD_TOO_LARGE)),
    };
    let query = parts
        .uri
        .query()
        .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
        .unwrap_or_default();
    Ok(Request {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query,
        headers: parts.headers,
        body,
    })
}

/// The N of a `page-cap=N` variant, a positive number; `None` for any other name.
pub fn page_cap(variant: &str) -> Option<usize> {
    variant
        .strip_prefix("page-cap=")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n > 0)
}

/// Saves `data` to the state file after a write was committed; a failure is logged, and the
/// answer stands (the write happened). Every simulator keeps its state this way.
pub fn persist<T: serde::Serialize>(reply: &Reply, state_file: Option<&std::path::Path>, data: &T) {
    if reply.committed
        && let Some(path) = state_file
        && let Err(err) = write_json(data, path)
    {
        tracing::error!("sandbox: cannot save state to `{}`: {err}", path.display());
    }
}

/// Reads a sandbox's seed or state file.
pub fn read_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    what: &str,
) -> anyhow::Result<T> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the sandbox data `{}`", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("`{}` is not {what}", path.display()))
}

/// Writes a sandbox's state atomically: a temporary file renamed over the old one.
pub fn write_json<T: serde::Serialize>(value: &T, path: &std::path::Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension("json.tmp");
    let mut text = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    text.push(b'\n');
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

/// Seconds since the Unix epoch as an ISO-8601 UTC timestamp with offset, `2024-05-01T10:00:00+00:00`.
pub fn timestamp(unix: u64) -> String {
    let (year, month, day, secs) = crate::model::vocab::civil(unix);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(timestamp(1_709_210_096), "2024-02-29T12:34:56+00:00");
    }
}
