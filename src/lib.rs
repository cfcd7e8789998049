//! rollcall: declarative user provisioning for SaaS accounts.
//!
//! Desired-state YAML files say who should have an account; rollcall validates them, compares them
//! with the live users of the account, and makes the changes.

pub mod apply; // the executor: actions in dependency order, in parallel, with a journal
pub mod cli; // the command line, one file per command
pub mod desired; // the file format: decoding, `${VAR}` references, loading, validation, schema
pub mod diagnostic; // problems pointing into files, rendered with a snippet and a hint
pub mod model; // the validated, provider-neutral desired state, and live users
pub mod plan; // the pure planner: actions in dependency order, and the guards
pub mod providers; // what each API can express, the shared HTTP client, clients and sandboxes
pub mod redact; // the secrets this process holds, scrubbed from text that came from elsewhere
pub mod render; // plans as terraform-style text and versioned JSON
pub mod yaml; // the only module that knows the YAML crate
