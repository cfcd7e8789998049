//! What every provider's `connect` shares: the HTTP client for a target, the built-in sandbox
//! started in-process for `url: sandbox`, and the secrets that sandbox hands out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use super::AnyAccount;
use super::http::{Http, RetryPolicy};
use super::sandbox::{Api, Faults, Server};
use crate::journal::Journal;
use crate::model::DesiredState;
use crate::model::vocab::{Secret, SecretRef};

/// Where the built-in sandbox keeps each provider's users between runs.
pub const SANDBOX_DIR: &str = ".rollcall/sandbox";

/// A reached account: the client, the in-process sandbox behind it for `url: sandbox`, and how
/// the target is named in output.
pub struct Connection {
    pub account: AnyAccount,
    pub sandbox: Option<Server>,
    pub label: String,
}

/// What a provider's `connect` is given.
pub struct Target<'a> {
    pub desired: &'a DesiredState,
    pub journal: Option<Journal>,
    /// Shared by every request of the run.
    pub pace: Arc<super::pace::Pace>,
}

impl Target<'_> {
    /// The HTTP client for `base`, which it checks again before anything connects.
    pub fn http(&self, base: &str) -> anyhow::Result<Http> {
        Ok(
            Http::new(base, RetryPolicy::default(), self.journal.clone())?
                .with_pace(self.pace.clone()),
        )
    }

    /// Starts the built-in sandbox `make` builds from the data in its state file (or the seed)
    /// and the path it keeps that data at.
    pub async fn built_in<D, S: Api>(
        &self,
        read: impl Fn(&Path) -> anyhow::Result<D>,
        seed: impl Fn() -> D,
        make: impl FnOnce(D, PathBuf) -> S,
    ) -> anyhow::Result<Server> {
        let state_file = self.state_file();
        let data = state_or_seed(&state_file, read, seed)?;
        start_sandbox(Arc::new(make(data, state_file))).await
    }

    /// The built-in sandbox's state file for this provider.
    pub fn state_file(&self) -> PathBuf {
        Path::new(SANDBOX_DIR).join(format!("{}.json", self.desired.target.provider))
    }

    /// `sandbox (PATH)`, how a built-in sandbox target is named.
    pub fn sandbox_label(&self) -> String {
        format!("sandbox ({})", self.state_file().display())
    }

    /// Each user's initial password, by natural key.
    pub fn passwords(&self) -> std::collections::HashMap<String, Secret> {
        self.desired
            .users
            .iter()
            .filter_map(|u| Some((u.key.clone(), u.details().password.as_ref()?.value.clone())))
            .collect()
    }
}

/// Reads the sandbox's state file if there is one, else starts from its seed.
fn state_or_seed<D>(
    path: &Path,
    read: impl Fn(&Path) -> anyhow::Result<D>,
    seed: impl Fn() -> D,
) -> anyhow::Result<D> {
    if path.exists() {
        read(path)
    } else {
        Ok(seed())
    }
}

/// Starts an in-process sandbox serving `api` on a free loopback port.
async fn start_sandbox(api: Arc<dyn Api>) -> anyhow::Result<Server> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot start the built-in sandbox")?;
    Ok(super::sandbox::spawn(listener, api, Faults::default())?)
}

/// A secret the built-in sandbox hands out, named for messages.
pub fn sandbox_secret(what: &str, value: &str) -> SecretRef {
    SecretRef {
        var: what.to_string(),
        value: Secret::new(value),
    }
}
