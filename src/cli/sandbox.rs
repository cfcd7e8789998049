//! `rollcall sandbox`: run a provider's simulator on loopback until interrupted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::{SandboxArgs, exit};
use crate::model::vocab::Provider;
use crate::providers::sandbox::{Api, Faults, spawn};
use crate::providers::{bedita, piwik, publica};

pub const EXAMPLES: &str = "\
Examples:
  rollcall sandbox --provider piwik-pro --port 8080
  rollcall sandbox --provider publica-la --state store.json       keep users between runs
  rollcall sandbox --provider piwik-pro --rate-limit 10 --error-share 0.1 --drop-share 0.2
  rollcall sandbox --provider bedita --token-lifetime 60          tokens to renew every minute

Point a file's target at the printed URL, with the printed credentials in the environment.";

/// Reads the data to start from: the state file when it exists, else the seed, else the
/// built-in seed. The state file is written at once, so it exists from the start.
fn starting_data<T: serde::Serialize>(
    args: &SandboxArgs,
    read: impl Fn(&Path) -> anyhow::Result<T>,
    builtin: impl Fn() -> T,
    write: impl Fn(&T, &Path) -> std::io::Result<()>,
) -> anyhow::Result<T> {
    let data = match (&args.state, &args.seed) {
        (Some(state), _) if state.exists() => read(state)?,
        (_, Some(seed)) => read(seed)?,
        _ => builtin(),
    };
    if let Some(state) = &args.state {
        write(&data, state)
            .with_context(|| format!("cannot write the state file `{}`", state.display()))?;
    }
    Ok(data)
}

/// Variants as `name` (what it does), for messages.
fn variant_list(variants: &[(&str, &str)]) -> String {
    variants
        .iter()
        .map(|(name, what)| format!("`{name}` ({what})"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(args: &SandboxArgs, output: super::Printer) -> anyhow::Result<u8> {
    let state_file: Option<PathBuf> = args.state.clone();
    // `redirect` is the server's, for every provider; the rest are each simulator's own.
    let redirect = args.variants.iter().any(|v| v == "redirect");
    let variants: Vec<&String> = args.variants.iter().filter(|v| *v != "redirect").collect();
    let (api, name, credentials): (Arc<dyn Api>, &str, Vec<String>) = match args.provider {
        Provider::PiwikPro => {
            let data = starting_data(
                args,
                piwik::sandbox::Data::read,
                piwik::sandbox::Data::seed,
                piwik::sandbox::Data::write,
            )?;
            let credentials = data
                .clients
                .iter()
                .map(|c| {
                    format!(
                        "client_id={} client_secret={} acts as {}",
                        c.client_id, c.client_secret, c.user
                    )
                })
                .collect();
            let mut options = piwik::sandbox::Options {
                token_lifetime: Duration::from_secs(args.token_lifetime),
                state_file,
                ..Default::default()
            };
            for name in &variants {
                if !options.variant(name) {
                    anyhow::bail!(
                        "the Piwik PRO sandbox has no variant `{name}`; it has {}",
                        variant_list(piwik::sandbox::VARIANTS)
                    );
                }
            }
            (
                Arc::new(piwik::sandbox::Sandbox::new(data, options)),
                "Piwik PRO",
                credentials,
            )
        }
        Provider::PublicaLa => {
            let data = starting_data(
                args,
                publica::sandbox::Data::read,
                publica::sandbox::Data::seed,
                publica::sandbox::Data::write,
            )?;
            let credentials = vec![format!("api_token={}", data.token)];
            let mut sandbox = publica::sandbox::Sandbox::new(data, state_file);
            for name in &variants {
                if !sandbox.variant(name) {
                    anyhow::bail!(
                        "the Publica.la sandbox has no variant `{name}`; it has {}",
                        variant_list(publica::sandbox::VARIANTS)
                    );
                }
            }
            (Arc::new(sandbox), "Publica.la", credentials)
        }
        Provider::Bedita => {
            let data = starting_data(
                args,
                bedita::sandbox::Data::read,
                bedita::sandbox::Data::seed,
                bedita::sandbox::Data::write,
            )?;
            let mut credentials = Vec::new();
            // The seed's administrator, while the password is still the seed's.
            let seed_hash = bedita::sandbox::password_hash(bedita::sandbox::SEED_PASSWORD);
            let seed_login = data.users.iter().any(|u| {
                u.username == bedita::sandbox::SEED_USERNAME
                    && u.password_hash.as_ref() == Some(&seed_hash)
            });
            if seed_login {
                credentials.push(format!(
                    "api_key={} username={} password={}",
                    data.api_key,
                    bedita::sandbox::SEED_USERNAME,
                    bedita::sandbox::SEED_PASSWORD
                ));
            } else {
                credentials.push(format!("api_key={}", data.api_key));
            }
            if !data.client_secret.is_empty() {
                credentials.push(format!(
                    "api_key={} client_secret={}",
                    data.api_key, data.client_secret
                ));
            }
            let mut options = bedita::sandbox::Options {
                token_lifetime: Duration::from_secs(args.token_lifetime),
                state_file,
                ..Default::default()
            };
            for name in &variants {
                if !options.variant(name) {
                    anyhow::bail!(
                        "the BEdita sandbox has no variant `{name}`; it has {}",
                        variant_list(bedita::sandbox::VARIANTS)
                    );
                }
            }
            (
                Arc::new(bedita::sandbox::Sandbox::new(data, options)),
                "BEdita",
                credentials,
            )
        }
    };
    let faults = Faults {
        rate_limit: args
            .rate_limit
            .map(|n| (n, Duration::from_secs(args.rate_window))),
        error_share: args.error_share,
        drop_share: args.drop_share,
        latency: Duration::from_millis(args.latency_ms),
        seed: args.fault_seed,
        // Somewhere that is not the sandbox: a client following it would leave the target.
        redirect: redirect.then(|| "http://127.0.0.2:9".to_string()),
    };
    super::session::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
        let server = spawn(listener, api, faults)?;
        // One write, whose failure (a reader that went away) must not stop the server.
        let mut banner = format!("{name} sandbox listening on {}\n", server.url());
        for line in credentials {
            banner.push_str(&format!("  {line}\n"));
        }
        banner.push_str("Press Ctrl-C to stop.\n");
        output.data(&banner);
        tokio::signal::ctrl_c().await?;
        drop(server);
        Ok(exit::OK)
    })
}
