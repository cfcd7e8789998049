//! The library's modules form layers: each may use only the layers below it, so the pure core
//! (the vocabulary, the planner) never reaches up into the HTTP adapters or the command line, and
//! no two modules depend on each other. This reads every `crate::` path in `src/` and checks it.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module and its layer, bottom first. A module may use its own layer's modules
/// only when it is listed as doing so; otherwise only lower layers.
const LAYERS: &[&[&str]] = &[
    &["yaml", "redact", "escape"],
    &["diagnostic"],
    &["model"],
    &["desired"],
    &["plan"],
    &["render", "journal"],
    &["providers"],
    &["apply"],
    &["session"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file under `src/` belongs to.
fn module_of(path: &Path, src: &Path) -> String {
    let relative = path.strip_prefix(src).expect("under src");
    let first = relative.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::MODULE` a file's code names (comments left out).
fn uses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
            rest = after;
        }
    }
    found
}

#[test]
fn no_module_uses_one_above_it_and_there_is_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for path in &all {
        let from = module_of(path, &src);
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("a source file");
        for to in uses(&text) {
            if to != from {
                let shown = path.strip_prefix(&src).unwrap().display().to_string();
                edges.entry((from.clone(), to)).or_default().push(shown);
            }
        }
    }
    let mut wrong = Vec::new();
    for ((from, to), places) in &edges {
        let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) else {
            wrong.push(format!("{from} -> {to}: a module missing from LAYERS"));
            continue;
        };
        if b >= a {
            let mut places = places.clone();
            places.sort();
            places.dedup();
            wrong.push(format!(
                "{from} -> {to} ({}): uses a module of its own layer or above",
                places.join(", ")
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    // The reader does see the edges that exist.
    for (from, to) in [("plan", "model"), ("providers", "plan"), ("cli", "session")] {
        assert!(
            edges.contains_key(&(from.to_string(), to.to_string())),
            "{from} -> {to} not seen"
        );
    }
    // Every module of the crate is placed, and the layers name nothing that does not exist.
    let mut modules: Vec<String> = all
        .iter()
        .map(|p| module_of(p, &src))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    modules.sort();
    modules.dedup();
    let mut placed: Vec<String> = LAYERS
        .iter()
        .flat_map(|l| l.iter().map(|m| m.to_string()))
        .collect();
    placed.sort();
    assert_eq!(modules, placed);
}
