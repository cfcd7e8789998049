//! rollcall: declarative user provisioning for SaaS accounts.
//!
//! Desired-state YAML files say who should have an account; rollcall validates them, compares them
//! with the live users of the account, and makes the changes.

// Each module uses only the layers below it; tests/layers.rs holds the order and checks it.
pub mod apply; // the executor: actions in dependency order, in parallel
pub mod cli; // the command line, one file per command
pub mod desired; // the file format: decoding, `${VAR}` references, loading, validation, schema
pub mod diagnostic; // problems pointing into files, rendered with a snippet and a hint
pub mod escape; // text from elsewhere made safe to show on a terminal and in Markdown
pub mod journal; // the append-only record of every write
pub mod model; // the vocabulary, each provider's capabilities, the desired state and live users
pub mod plan; // the pure planner: actions in dependency order, the guards, saved plans
pub mod providers; // the shared HTTP client, each API's client, and the sandboxes
pub mod redact; // the secrets this process holds, scrubbed from text that came from elsewhere
pub mod render; // plans as terraform-style text, versioned JSON, Markdown and diffs
pub mod session; // a connected account: the target reached, live users fetched, a plan made
pub mod yaml; // the only module that knows the YAML crate
