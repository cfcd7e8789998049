//! Reaching a Publica.la store from a target: its API token, or the built-in sandbox.

use std::sync::Arc;

use super::{Publica, sandbox};
use crate::model::vocab::TargetUrl;
use crate::providers::AnyAccount;
use crate::providers::connect::{Connection, Target, sandbox_secret};

pub async fn connect(target: Target<'_>) -> anyhow::Result<Connection> {
    let (base, token, server, label) = match &target.desired.target.url {
        TargetUrl::Http(url) => {
            let Some(token) = target.desired.target.credentials.api_token.clone() else {
                anyhow::bail!("the target has no Publica.la `api_token`");
            };
            (url.clone(), token, None, url.clone())
        }
        TargetUrl::Sandbox => {
            let server = target
                .built_in(
                    sandbox::Data::read,
                    sandbox::Data::seed,
                    |data, state_file| sandbox::Sandbox::new(data, Some(state_file)),
                )
                .await?;
            let token = sandbox_secret("the sandbox token", sandbox::SEED_TOKEN);
            (server.url(), token, Some(server), target.sandbox_label())
        }
    };
    let desired = target.desired;
    let needs_plans =
        !desired.plans.is_empty() || desired.users.iter().any(|u| u.details().plan.is_some());
    let http = target.http(&base)?;
    let client = Publica::new(&base, token, target.passwords(), needs_plans, http);
    Ok(Connection {
        account: AnyAccount::new(Arc::new(client)),
        sandbox: server,
        label,
    })
}
