//! A connected account: the files' target reached over its API (or the built-in sandbox
//! started for it), and the fetch and plan every command that talks to an account shares.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use crate::journal::Journal;
use crate::model::vocab::{Provider, Secret, SecretRef, TargetUrl};
use crate::model::{DesiredState, LiveState};
use crate::plan::{Plan, PlanOptions};
use crate::providers::AnyAccount;
use crate::providers::bedita::{self, Bedita};
use crate::providers::http::{Http, RetryPolicy};
use crate::providers::piwik::{self, Piwik};
use crate::providers::publica::{self, Publica};
use crate::providers::sandbox::{Faults, Server};
use crate::render::TargetInfo;

/// Where the built-in sandbox keeps each provider's users between runs.
pub const SANDBOX_DIR: &str = ".rollcall/sandbox";

/// A connected account, with the in-process sandbox behind it when the target is `sandbox`.
pub struct Session {
    pub desired: DesiredState,
    pub account: AnyAccount,
    pub target: TargetInfo,
    _sandbox: Option<Server>,
}

fn secret(var: &str, value: &str) -> SecretRef {
    SecretRef {
        var: var.to_string(),
        value: Secret::new(value),
    }
}

/// Starts an in-process sandbox serving `api` on a free loopback port.
async fn start_sandbox(api: Arc<dyn crate::providers::sandbox::Api>) -> anyhow::Result<Server> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot start the built-in sandbox")?;
    Ok(crate::providers::sandbox::spawn(
        listener,
        api,
        Faults::default(),
    )?)
}

impl Session {
    /// Connects to the target of `desired`, starting the built-in sandbox when the URL is `sandbox`.
    pub async fn connect(
        desired: DesiredState,
        journal: Option<Journal>,
    ) -> anyhow::Result<Session> {
        let http = |base: &str| Http::new(base, RetryPolicy::default(), journal.clone());
        let provider = desired.target.provider;
        let state_file = Path::new(SANDBOX_DIR).join(format!("{provider}.json"));
        let creds = &desired.target.credentials;
        let (account, sandbox, url) = match (provider, &desired.target.url) {
            (Provider::PiwikPro, TargetUrl::Http(url)) => {
                let (Some(id), Some(secret)) =
                    (creds.client_id.clone(), creds.client_secret.clone())
                else {
                    anyhow::bail!("the target has no Piwik PRO credentials");
                };
                let account = AnyAccount::Piwik(Arc::new(Piwik::new(url, id, secret, http(url)?)));
                (account, None, url.clone())
            }
            (Provider::PiwikPro, TargetUrl::Sandbox) => {
                let data = if state_file.exists() {
                    piwik::sandbox::Data::read(&state_file)?
                } else {
                    piwik::sandbox::Data::seed()
                };
                let options = piwik::sandbox::Options {
                    state_file: Some(state_file.clone()),
                    ..Default::default()
                };
                let server =
                    start_sandbox(Arc::new(piwik::sandbox::Sandbox::new(data, options))).await?;
                let (id, key) = piwik::sandbox::SEED_CLIENT;
                let client = Piwik::new(
                    &server.url(),
                    secret("the sandbox client id", id),
                    secret("the sandbox client secret", key),
                    http(&server.url())?,
                );
                let url = format!("sandbox ({})", state_file.display());
                (AnyAccount::Piwik(Arc::new(client)), Some(server), url)
            }
            (Provider::PublicaLa, target) => {
                let passwords = desired
                    .users
                    .iter()
                    .filter_map(|u| Some((u.key.clone(), u.password.as_ref()?.value.clone())))
                    .collect();
                let (base, token, server, url) = match target {
                    TargetUrl::Http(url) => {
                        let Some(token) = creds.api_token.clone() else {
                            anyhow::bail!("the target has no Publica.la `api_token`");
                        };
                        (url.clone(), token, None, url.clone())
                    }
                    TargetUrl::Sandbox => {
                        let data = if state_file.exists() {
                            publica::sandbox::Data::read(&state_file)?
                        } else {
                            publica::sandbox::Data::seed()
                        };
                        let sandbox =
                            publica::sandbox::Sandbox::new(data, Some(state_file.clone()));
                        let server = start_sandbox(Arc::new(sandbox)).await?;
                        let token = secret("the sandbox token", publica::sandbox::SEED_TOKEN);
                        let url = format!("sandbox ({})", state_file.display());
                        (server.url(), token, Some(server), url)
                    }
                };
                let keep_sessions = desired
                    .users
                    .iter()
                    .filter(|u| u.force_logout == Some(false))
                    .map(|u| u.key.clone())
                    .collect();
                let client = Publica::new(&base, token, passwords, keep_sessions, http(&base)?);
                (AnyAccount::Publica(Arc::new(client)), server, url)
            }
            (Provider::Bedita, target) => {
                let passwords = desired
                    .users
                    .iter()
                    .filter_map(|u| Some((u.key.clone(), u.password.as_ref()?.value.clone())))
                    .collect();
                let (base, api_key, login, server, url) = match target {
                    TargetUrl::Http(url) => {
                        let Some(api_key) = creds.api_key.clone() else {
                            anyhow::bail!("the target has no BEdita `api_key`");
                        };
                        let login = match (&creds.username, &creds.password, &creds.client_secret) {
                            (Some(username), Some(password), _) => bedita::Login::Password {
                                username: username.clone(),
                                password: password.clone(),
                            },
                            (_, _, Some(secret)) => bedita::Login::Client {
                                secret: secret.clone(),
                            },
                            _ => anyhow::bail!(
                                "the target has neither a BEdita `username` and `password` nor a `client_secret`"
                            ),
                        };
                        (url.clone(), api_key, login, None, url.clone())
                    }
                    TargetUrl::Sandbox => {
                        let data = if state_file.exists() {
                            bedita::sandbox::Data::read(&state_file)?
                        } else {
                            bedita::sandbox::Data::seed()
                        };
                        let options = bedita::sandbox::Options {
                            state_file: Some(state_file.clone()),
                            ..Default::default()
                        };
                        let sandbox = bedita::sandbox::Sandbox::new(data, options);
                        let server = start_sandbox(Arc::new(sandbox)).await?;
                        let login = bedita::Login::Password {
                            username: secret(
                                "the sandbox username",
                                bedita::sandbox::SEED_USERNAME,
                            ),
                            password: secret(
                                "the sandbox password",
                                bedita::sandbox::SEED_PASSWORD,
                            ),
                        };
                        let key = secret("the sandbox API key", bedita::sandbox::SEED_API_KEY);
                        let url = format!("sandbox ({})", state_file.display());
                        (server.url(), key, login, Some(server), url)
                    }
                };
                let client = Bedita::new(&base, api_key, login, passwords, http(&base)?);
                (AnyAccount::Bedita(Arc::new(client)), server, url)
            }
        };
        Ok(Session {
            desired,
            account,
            target: TargetInfo { provider, url },
            _sandbox: sandbox,
        })
    }

    /// Fetches the live users.
    pub async fn fetch(&self) -> anyhow::Result<LiveState> {
        use crate::providers::Account as _;
        let started = std::time::Instant::now();
        let live = self.account.fetch().await.with_context(|| {
            format!(
                "cannot read the users of {} {}",
                self.target.provider, self.target.url
            )
        })?;
        if let Some((key, ids)) = live.shared_keys().first() {
            anyhow::bail!(
                "the account lists {} users as {} (ids {}); rollcall cannot tell which one the files mean. Make the service's records unique first",
                ids.len(),
                crate::escape::visible(crate::plan::display_key(key)),
                ids.iter()
                    .map(|id| format!("{:?}", id))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        tracing::info!(
            users = live.users.len(),
            seconds = started.elapsed().as_secs_f64(),
            "fetched live users"
        );
        Ok(live)
    }

    /// Fetches the live users and plans.
    pub async fn plan(&self, options: &PlanOptions) -> anyhow::Result<(LiveState, Plan)> {
        let live = self.fetch().await?;
        if let Some(offered) = &live.plans {
            let unknown: Vec<String> = self
                .desired
                .users
                .iter()
                .filter_map(|u| {
                    let plan = u.plan.as_ref()?;
                    (!offered.contains(plan)).then(|| format!("`{plan}` for {} ({})", u.key, u.at))
                })
                .collect();
            if !unknown.is_empty() {
                anyhow::bail!(
                    "the store has no plan named {}; it offers {}",
                    unknown.join(", "),
                    offered
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        let plan = crate::plan::plan(&self.desired, &live, options);
        Ok((live, plan))
    }
}
