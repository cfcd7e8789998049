//! `rollcall sandbox`: run a provider's simulator on loopback until interrupted.

use std::time::Duration;

use anyhow::Context as _;

use super::{SandboxArgs, exit};
use crate::providers::sandbox::{Faults, Settings, Standalone, spawn};

pub const EXAMPLES: &str = "\
Examples:
  rollcall sandbox --provider piwik-pro --port 8080
  rollcall sandbox --provider publica-la --state store.json       keep users between runs
  rollcall sandbox --provider piwik-pro --rate-limit 10 --error-share 0.1 --drop-share 0.2
  rollcall sandbox --provider bedita --token-lifetime 60          tokens to renew every minute

Point a file's target at the printed URL, with the printed credentials in the environment.";

pub fn run(args: &SandboxArgs, output: super::Printer) -> anyhow::Result<u8> {
    // `redirect` is the server's, for every provider; the rest are each simulator's own.
    let redirect = args.variants.iter().any(|v| v == "redirect");
    let settings = Settings {
        seed: args.seed.clone(),
        state: args.state.clone(),
        token_lifetime: Duration::from_secs(args.token_lifetime),
        variants: args
            .variants
            .iter()
            .filter(|v| *v != "redirect")
            .cloned()
            .collect(),
    };
    let Standalone {
        api,
        name,
        credentials,
    } = crate::providers::standalone_sandbox(args.provider, &settings)?;
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
        broken: None,
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
