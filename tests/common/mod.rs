//! Helpers shared by the integration tests.
#![allow(dead_code)]
// Tests print what failed, beside their assertions.
#![allow(clippy::disallowed_macros)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rollcall::apply;
use rollcall::desired::{self, Loaded};
use rollcall::diagnostic::Renderer;
use rollcall::model::DesiredState;
use rollcall::plan::{Plan, PlanOptions};
use rollcall::providers::sandbox::{Api, Faults, Server, spawn};
use rollcall::session::Session;

/// The environment the tests load files with.
pub fn env(name: &str) -> Option<String> {
    match name {
        "PIWIK_CLIENT_ID" => Some("client-id".into()),
        "PIWIK_CLIENT_SECRET" => Some("piwik-top-secret-value".into()),
        "PUBLICA_API_TOKEN" => Some("publica-token".into()),
        "STAFF_INITIAL_PASSWORD" | "READER_INITIAL_PASSWORD" => Some("initial-pass-1".into()),
        "BEDITA_API_KEY" | "BEDITA_USERNAME" | "BEDITA_PASSWORD" => Some("bedita".into()),
        "EDITOR_INITIAL_PASSWORD" => Some("editor-pass-1".into()),
        "SHORT_PASSWORD" => Some("short".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

/// Every variable [`env`] sets, for running the binary.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("PIWIK_CLIENT_ID", "client-id"),
    ("PIWIK_CLIENT_SECRET", "piwik-top-secret-value"),
    ("PUBLICA_API_TOKEN", "publica-token"),
    ("STAFF_INITIAL_PASSWORD", "initial-pass-1"),
    ("READER_INITIAL_PASSWORD", "initial-pass-1"),
    ("BEDITA_API_KEY", "bedita"),
    ("BEDITA_USERNAME", "bedita"),
    ("BEDITA_PASSWORD", "bedita"),
    ("EDITOR_INITIAL_PASSWORD", "editor-pass-1"),
];

/// A directory of files that disappears with the test.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to `name` (creating directories) and returns its path.
    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create directories");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }
}

/// Loads `paths` with the test environment.
pub fn load(paths: &[PathBuf]) -> Loaded {
    desired::load(paths, &env)
}

/// Renders every diagnostic as plain text, with paths relative to `base`.
pub fn render(loaded: &Loaded, base: &Path) -> String {
    let renderer = Renderer::new(&loaded.sources, false);
    let Err(diagnostics) = &loaded.result else {
        return String::new();
    };
    let prefix = format!("{}/", base.display());
    diagnostics
        .iter()
        .map(|d| renderer.render(d).replace(&prefix, ""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `(line, message)` of each diagnostic, in order.
pub fn problems(loaded: &Loaded) -> Vec<(u32, String)> {
    match &loaded.result {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics
            .iter()
            .map(|d| (d.span.map_or(0, |s| s.line), d.message.clone()))
            .collect(),
    }
}

pub const PIWIK_HEAD: &str = "version: 1
target:
  provider: piwik-pro
  url: https://acme.piwik.pro
  credentials:
    client_id: ${PIWIK_CLIENT_ID}
    client_secret: ${PIWIK_CLIENT_SECRET}
";

pub const PUBLICA_HEAD: &str = "version: 1
target:
  provider: publica-la
  url: https://store.publica.la
  credentials:
    api_token: ${PUBLICA_API_TOKEN}
";

pub const BEDITA_HEAD: &str = "version: 1
target:
  provider: bedita
  url: https://api.example.com
  credentials:
    api_key: ${BEDITA_API_KEY}
    username: ${BEDITA_USERNAME}
    password: ${BEDITA_PASSWORD}
";

/// A simulator served on a free loopback port, and a workspace for the files that target it.
pub struct Served<S> {
    pub server: Server,
    pub sandbox: Arc<S>,
    pub url: String,
    pub ws: Workspace,
}

/// Serves `sandbox` with `faults` until the returned value is dropped.
pub async fn serve<S: Api>(sandbox: S, faults: Faults) -> Served<S> {
    let sandbox = Arc::new(sandbox);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let server = spawn(listener, sandbox.clone(), faults).expect("the sandbox starts");
    let url = server.url();
    Served {
        server,
        sandbox,
        url,
        ws: Workspace::new(),
    }
}

/// How one provider's end-to-end tests reach its simulator: the `target:` head their files
/// start with, and the environment its `${VAR}` references read. With it, every provider's
/// tests share one harness.
pub trait Simulated {
    /// `version` and `target` for a simulator at `url`, credentials as `${VAR}` references.
    fn head(url: &str) -> String;
    /// The environment the head's references (and the tests' passwords) read.
    fn env(name: &str) -> Option<String>;
}

impl<S: Simulated> Served<S> {
    /// The desired state of `body` (users, roles, policy...) under the simulator's head.
    pub fn desired(&self, body: &str) -> DesiredState {
        self.load_file(
            "team.yaml",
            format!("{}{body}", S::head(&self.url)),
            &S::env,
        )
    }

    /// Connects to the simulator with `body`'s files.
    pub async fn session(&self, body: &str) -> Session {
        Session::connect(self.desired(body), None)
            .await
            .expect("connected")
    }

    /// Plans `body` against the simulator, or says why it could not.
    pub async fn try_plan(&self, body: &str) -> anyhow::Result<Plan> {
        let session = Session::connect(self.desired(body), None).await?;
        Ok(session.plan(&PlanOptions::default()).await?.1)
    }

    pub async fn plan(&self, body: &str) -> Plan {
        self.try_plan(body).await.expect("planned")
    }

    /// Plans and applies once; returns the plan and how many actions did not succeed.
    pub async fn apply(&self, body: &str) -> (Plan, usize) {
        apply_once(self.desired(body), || {}).await
    }
}

impl<S> Served<S> {
    /// Writes `text` to `name` and loads it with `env`; any problem fails the test.
    pub fn load_file(
        &self,
        name: &str,
        text: String,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> DesiredState {
        let path = self.ws.write(name, text);
        match desired::load(&[path], env).result {
            Ok(state) => state,
            Err(d) => panic!("invalid test file: {d:?}"),
        }
    }
}

/// rollcall's own HTTP client, which also sets up TLS for the process.
pub fn http_client() -> reqwest::Client {
    rollcall::providers::http::init_tls();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// Plans `desired` and applies it once, after `between`; returns the plan and how many actions
/// did not succeed (each failure is printed).
pub async fn apply_once(desired: DesiredState, between: impl FnOnce()) -> (Plan, usize) {
    let session = Session::connect(desired, None).await.expect("connected");
    let (live, plan) = session
        .plan(&PlanOptions::default())
        .await
        .expect("planned");
    assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
    between();
    let report = apply::run(session.account.clone(), &plan, &live, 4, None, |_, _| {}).await;
    for (id, outcome) in &report.outcomes {
        if let apply::Outcome::Failed(err) = outcome {
            eprintln!(
                "{} ({}) failed: {err}",
                plan.actions[*id].subject(),
                plan.actions[*id].op.name()
            );
        }
    }
    (plan, report.failed() + report.skipped())
}
