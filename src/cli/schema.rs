//! `rollcall schema`: print the JSON Schema of the file format.

pub const EXAMPLES: &str = "\
Examples:
  rollcall schema > schema.json
  Editors pick the schema up from a modeline on the first line of a file:
  # yaml-language-server: $schema=../schema.json";

pub fn run(output: super::Printer) -> anyhow::Result<u8> {
    output.data(&crate::desired::schema::json());
    Ok(super::exit::OK)
}
