//! `schema.json`: the JSON Schema of the file format, generated from [`FileDoc`].

use schemars::generate::SchemaSettings;

use super::format::FileDoc;

/// The schema as pretty-printed JSON with a trailing newline, exactly as checked in.
pub fn json() -> String {
    let mut schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<FileDoc>();
    schema.insert(
        "$id".into(),
        "https://rollcall.dev/schema/v1/desired-state.json".into(),
    );
    schema.insert(
        "title".into(),
        "rollcall desired-state file, version 1".into(),
    );
    let mut value = schema.to_value();
    // Optional keys are absent, never null: rollcall refuses `null`.
    forbid_null(&mut value);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Removes the `null` alternative that optional fields get by default.
fn forbid_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            for key in ["anyOf", "oneOf"] {
                let mut collapse = None;
                if let Some(Value::Array(options)) = map.get_mut(key) {
                    options.retain(|o| o.get("type").and_then(Value::as_str) != Some("null"));
                    if options.len() == 1 {
                        collapse = Some(options.remove(0));
                    }
                }
                if let Some(Value::Object(only)) = collapse {
                    map.remove(key);
                    for (k, v) in only {
                        map.entry(k).or_insert(v);
                    }
                }
            }
            map.values_mut().for_each(forbid_null);
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_null),
        _ => {}
    }
}
