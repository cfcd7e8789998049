//! Reaching a BEdita project from a target: its API key and a sign-in, or the built-in sandbox.

use std::sync::Arc;

use super::{Bedita, Login, sandbox};
use crate::model::vocab::TargetUrl;
use crate::providers::AnyAccount;
use crate::providers::connect::{Connection, Target, sandbox_secret};

pub async fn connect(target: Target<'_>) -> anyhow::Result<Connection> {
    let creds = &target.desired.target.credentials;
    let (base, api_key, login, server, label) = match &target.desired.target.url {
        TargetUrl::Http(url) => {
            let Some(api_key) = creds.api_key.clone() else {
                anyhow::bail!("the target has no BEdita `api_key`");
            };
            let login = match (&creds.username, &creds.password, &creds.client_secret) {
                (Some(username), Some(password), _) => Login::Password {
                    username: username.clone(),
                    password: password.clone(),
                },
                (_, _, Some(secret)) => Login::Client {
                    secret: secret.clone(),
                },
                _ => anyhow::bail!(
                    "the target has neither a BEdita `username` and `password` nor a `client_secret`"
                ),
            };
            (url.clone(), api_key, login, None, url.clone())
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
            let login = Login::Password {
                username: sandbox_secret("the sandbox username", sandbox::SEED_USERNAME),
                password: sandbox_secret("the sandbox password", sandbox::SEED_PASSWORD),
            };
            let key = sandbox_secret("the sandbox API key", sandbox::SEED_API_KEY);
            (
                server.url(),
                key,
                login,
                Some(server),
                target.sandbox_label(),
            )
        }
    };
    let http = target.http(&base)?;
    let client = Bedita::new(&base, api_key, login, target.passwords(), http);
    Ok(Connection {
        account: AnyAccount::new(Arc::new(client)),
        sandbox: server,
        label,
    })
}
