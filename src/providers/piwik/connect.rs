//! Reaching a Piwik PRO account from a target: its API credentials, or the built-in sandbox.

use std::sync::Arc;

use super::{Piwik, sandbox};
use crate::model::vocab::TargetUrl;
use crate::providers::AnyAccount;
use crate::providers::connect::{Connection, Target, sandbox_secret};

pub async fn connect(target: Target<'_>) -> anyhow::Result<Connection> {
    let creds = &target.desired.target.credentials;
    match &target.desired.target.url {
        TargetUrl::Http(url) => {
            let (Some(id), Some(secret)) = (creds.client_id.clone(), creds.client_secret.clone())
            else {
                anyhow::bail!("the target has no Piwik PRO credentials");
            };
            let client = Piwik::new(url, id, secret, target.http(url)?);
            Ok(Connection {
                account: AnyAccount::new(Arc::new(client)),
                sandbox: None,
                label: url.clone(),
            })
        }
        TargetUrl::Sandbox => {
            let server = target
                .built_in(
                    sandbox::Data::read,
                    sandbox::Data::seed,
                    |data, state_file| {
                        let options = sandbox::Options {
                            state_file: Some(state_file),
                            ..Default::default()
                        };
                        sandbox::Sandbox::new(data, options)
                    },
                )
                .await?;
            let (id, key) = sandbox::SEED_CLIENT;
            let client = Piwik::new(
                &server.url(),
                sandbox_secret("the sandbox client id", id),
                sandbox_secret("the sandbox client secret", key),
                target.http(&server.url())?,
            );
            Ok(Connection {
                account: AnyAccount::new(Arc::new(client)),
                sandbox: Some(server),
                label: target.sandbox_label(),
            })
        }
    }
}
