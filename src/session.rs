//! A connected account: the files' target reached over its API (or the built-in sandbox
//! started for it), and the fetch and plan every command that talks to an account shares.

use anyhow::Context as _;

use crate::journal::Journal;
use crate::model::{DesiredState, LiveState};
use crate::plan::{Plan, PlanOptions};
use crate::providers::AnyAccount;
use crate::providers::sandbox::Server;
use crate::render::TargetInfo;

pub use crate::providers::connect::SANDBOX_DIR;

/// A connected account, with the in-process sandbox behind it when the target is `sandbox`.
pub struct Session {
    pub desired: DesiredState,
    pub account: AnyAccount,
    pub target: TargetInfo,
    /// How hard the run presses the service: shared by all its requests, and read by apply.
    pub pace: std::sync::Arc<crate::providers::pace::Pace>,
    _sandbox: Option<Server>,
}

impl Session {
    /// Whether `other` is this session's target: the same provider, URL and credentials.
    pub fn reaches(&self, other: &crate::model::Target) -> bool {
        let ours = &self.desired.target;
        let creds = |t: &crate::model::Target| {
            let c = &t.credentials;
            [
                &c.client_id,
                &c.client_secret,
                &c.api_token,
                &c.api_key,
                &c.username,
                &c.password,
            ]
            .map(|s| {
                s.as_ref()
                    .map(|s| (s.var.clone(), s.value.expose().to_string()))
            })
        };
        ours.provider == other.provider && ours.url == other.url && creds(ours) == creds(other)
    }

    /// Connects to the target of `desired`, starting the built-in sandbox when the URL is `sandbox`.
    pub async fn connect(
        desired: DesiredState,
        journal: Option<Journal>,
    ) -> anyhow::Result<Session> {
        let pace = std::sync::Arc::new(crate::providers::pace::Pace::default());
        let connection = crate::providers::connect(&desired, journal, pace.clone()).await?;
        let provider = desired.target.provider;
        Ok(Session {
            desired,
            pace,
            account: connection.account,
            target: TargetInfo {
                provider,
                url: connection.label,
            },
            _sandbox: connection.sandbox,
        })
    }

    /// Fetches the live users.
    pub async fn fetch(&self) -> anyhow::Result<LiveState> {
        use crate::providers::Account as _;
        let started = std::time::Instant::now();
        let users = async {
            self.account.fetch().await.with_context(|| {
                format!(
                    "cannot read the users of {} {}",
                    self.target.provider, self.target.url
                )
            })
        };
        let (mut live, access) = tokio::try_join!(users, self.fetch_access())?;
        live.access = access;
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

    /// The access the files manage (Piwik PRO), when they manage any.
    pub async fn fetch_access(&self) -> anyhow::Result<Option<crate::model::access::LiveAccess>> {
        use crate::providers::Account as _;
        let Some(scope) = crate::plan::access::scope(&self.desired) else {
            return Ok(None);
        };
        let access = self.account.fetch_access(&scope).await.with_context(|| {
            format!(
                "cannot read the apps, meta sites and groups of {} {}",
                self.target.provider, self.target.url
            )
        })?;
        Ok(Some(access))
    }

    /// Fetches the live users and plans.
    pub async fn plan(&self, options: &PlanOptions) -> anyhow::Result<(LiveState, Plan)> {
        let live = self.fetch().await?;
        self.plan_with(live, options)
    }

    /// Plans against live users already fetched from this session's account.
    pub fn plan_with(
        &self,
        live: LiveState,
        options: &PlanOptions,
    ) -> anyhow::Result<(LiveState, Plan)> {
        if let Some(offered) = &live.plans {
            let unknown: Vec<String> = self
                .desired
                .users
                .iter()
                .filter_map(|u| {
                    let plan = u.details().plan.as_ref()?;
                    (!offered.contains(plan))
                        .then(|| format!("`{plan}` for {} ({})", u.key, self.desired.at(u.origin)))
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
        // A user the provider cannot create without an initial password is caught here, with
        // where it is written, before anything runs.
        let caps = self.desired.target.provider.capabilities();
        if caps.create_needs_password {
            let missing: Vec<String> = plan
                .actions
                .iter()
                .filter(|a| a.op == crate::plan::Op::Create)
                .filter_map(|a| self.desired.users.iter().find(|u| u.key == a.user))
                .filter(|u| u.details().password.is_none())
                .map(|u| format!("{} ({})", u.key, self.desired.at(u.origin)))
                .collect();
            if !missing.is_empty() {
                anyhow::bail!(
                    "{} creates a user only with an initial password, and {} has none; give it `password: ${{SOME_VAR}}`",
                    caps.name,
                    missing.join(", ")
                );
            }
        }
        Ok((live, plan))
    }
}
