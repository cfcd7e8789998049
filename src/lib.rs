//! rollcall: declarative user provisioning for SaaS accounts.
//!
//! Desired-state YAML files say who should have an account; rollcall validates them, compares them
//! with the live users of the account, and makes the changes.

pub mod cli; // the command line, one file per command
pub mod desired; // the file format: decoding, `${VAR}` references, loading, validation, schema
pub mod diagnostic; // problems pointing into files, rendered with a snippet and a hint
pub mod model; // the validated, provider-neutral desired state
pub mod providers; // the APIs rollcall speaks and what each can express
pub mod yaml; // the only module that knows the YAML crate
