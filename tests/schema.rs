//! `schema.json` is generated from the format types, checked in, and describes the examples.

use std::path::{Path, PathBuf};

use rollcall::yaml::{self, Node, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn schema_json_is_current() {
    let checked_in = std::fs::read_to_string(root().join("schema.json")).expect("schema.json");
    let generated = rollcall::desired::schema::json();
    assert!(
        checked_in == generated,
        "schema.json is stale: the format types changed. Regenerate it with \
         `cargo run -q -- schema > schema.json` and commit the result."
    );
}

fn to_json(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(n) => (*n).into(),
        Value::Float(f) => (*f).into(),
        Value::Str(s) => s.clone().into(),
        Value::Seq(items) => items.iter().map(to_json).collect(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| match &k.value {
                Value::Str(k) => (k.clone(), to_json(v)),
                other => (format!("{other:?}"), to_json(v)),
            })
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

fn examples() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&rollcall::desired::schema::json()).unwrap();
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

fn instance(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    to_json(&yaml::parse(&text).unwrap().unwrap())
}

#[test]
fn every_example_has_the_modeline_and_matches_the_schema() {
    let validator = validator();
    let examples = examples();
    assert!(examples.len() >= 4);
    for path in examples {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema.json\n"),
            "{} lacks the schema modeline",
            path.display()
        );
        let errors: Vec<String> = validator
            .iter_errors(&instance(&path))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn the_schema_rejects_what_rollcall_rejects() {
    let validator = validator();
    for bad in [
        "version: 2\n",
        "version: 1\nusers:\n  - emial: a@b.org\n",
        "version: 1\nusers:\n  - email: a@b.org\n    language: null\n",
        "version: 1\ntarget:\n  provider: piwik\n  url: sandbox\n",
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: sandbox\n  credentials:\n    client_secret: hunter2\n",
        "version: 1\npolicy:\n  max_removals: lots\n",
    ] {
        let value = to_json(&yaml::parse(bad).unwrap().unwrap());
        assert!(!validator.is_valid(&value), "the schema accepts:\n{bad}");
    }
}
