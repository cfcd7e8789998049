//! `rollcall sandbox`: run a provider's simulator on loopback until interrupted.

use std::sync::Arc;
use std::time::Duration;

use std::io::Write as _;

use anyhow::Context as _;

use super::{SandboxArgs, exit};
use crate::desired::format::Provider;
use crate::providers::piwik::sandbox::{Data, Options, SEED_CLIENT, Sandbox};
use crate::providers::sandbox::{Faults, spawn};

pub const EXAMPLES: &str = "\
Examples:
  rollcall sandbox --provider piwik-pro --port 8080
  rollcall sandbox --provider piwik-pro --state sandbox.json           keep users between runs
  rollcall sandbox --provider piwik-pro --rate-limit 10 --error-share 0.1 --drop-share 0.2

Point a file's target at the printed URL, with the printed credentials in the environment.";

pub fn run(args: &SandboxArgs) -> anyhow::Result<u8> {
    if args.provider != Provider::PiwikPro {
        anyhow::bail!(
            "the {} sandbox is not available yet; `--provider piwik-pro` is",
            args.provider.capabilities().name
        );
    }
    let data = match (&args.state, &args.seed) {
        (Some(state), _) if state.exists() => Data::read(state)?,
        (_, Some(seed)) => Data::read(seed)?,
        _ => Data::seed(),
    };
    if let Some(state) = &args.state {
        data.write(state)
            .with_context(|| format!("cannot write the state file `{}`", state.display()))?;
    }
    let options = Options {
        token_lifetime: Duration::from_secs(args.token_lifetime),
        state_file: args.state.clone(),
    };
    let faults = Faults {
        rate_limit: args
            .rate_limit
            .map(|n| (n, Duration::from_secs(args.rate_window))),
        error_share: args.error_share,
        drop_share: args.drop_share,
        latency: Duration::from_millis(args.latency_ms),
        seed: args.fault_seed,
    };
    let clients = data.clients.clone();
    super::session::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
        let server = spawn(listener, Arc::new(Sandbox::new(data, options)), faults)?;
        // One write, whose failure (a reader that went away) must not stop the server.
        let mut banner = format!("Piwik PRO sandbox listening on {}\n", server.url());
        for client in &clients {
            let note = if (client.client_id.as_str(), client.client_secret.as_str()) == SEED_CLIENT
            {
                " (built-in)"
            } else {
                ""
            };
            banner.push_str(&format!(
                "  client_id={} client_secret={} acts as {}{note}\n",
                client.client_id, client.client_secret, client.user
            ));
        }
        banner.push_str("Press Ctrl-C to stop.\n");
        let mut stdout = std::io::stdout();
        let _ = stdout
            .write_all(banner.as_bytes())
            .and_then(|()| stdout.flush());
        tokio::signal::ctrl_c().await?;
        drop(server);
        Ok(exit::OK)
    })
}
