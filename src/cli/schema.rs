//! `rollcall schema`: print the JSON Schema of the file format.

use std::io::Write;

pub const EXAMPLES: &str = "\
Examples:
  rollcall schema > schema.json
  Editors pick the schema up from a modeline on the first line of a file:
  # yaml-language-server: $schema=../schema.json";

pub fn run() -> anyhow::Result<u8> {
    std::io::stdout().write_all(crate::desired::schema::json().as_bytes())?;
    Ok(super::exit::OK)
}
