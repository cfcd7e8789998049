//! Desired-state files: the format, loading, `${VAR}` references and validation.

pub mod decode;
pub mod env;
pub mod format;
pub mod load;
pub mod schema;
pub mod secrets;
pub mod validate;

pub use load::{Loaded, Secrets, load, load_with, target_hint};
