//! Finding and reading desired-state files: paths, directories, size and encoding limits.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::decode::{Cx, Decode, Spanned};
use super::format::{FileDoc, UserDoc};
use super::validate;
use crate::diagnostic::{self, Diagnostic, SourceId, Sources};
use crate::model::DesiredState;
use crate::yaml::{self, Span};

/// The list of a file that is read one item at a time.
struct Users;

impl yaml::LongList for Users {
    const KEY: &'static str = "users";
}

/// Files larger than this are refused: a hundred thousand users fit in well under half of it.
pub const MAX_FILE_BYTES: u64 = 32 << 20;
/// Directories are searched at most this deep.
const MAX_DIR_DEPTH: usize = 16;

/// The outcome of loading a set of files: the files read (for rendering), and the desired state
/// or every problem found.
pub struct Loaded {
    pub sources: Sources,
    pub result: Result<DesiredState, Vec<Diagnostic>>,
    /// The credential and password variables that are not set, where the load did not need
    /// them; their secrets are empty.
    pub unset: Vec<String>,
}

/// Whether the variables credentials and passwords are read from must be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// To plan or apply: each unset variable is an error. A built-in sandbox needs no
    /// credentials, so their variables may be unset there.
    Required,
    /// To check the files only: unset variables are listed in [`Loaded::unset`].
    Optional,
}

/// Loads `paths` (files or directories) as one set feeding one target, to plan or apply.
/// `${VAR}` references are resolved through `env`.
pub fn load(paths: &[PathBuf], env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Loaded {
    load_with(paths, env, Secrets::Required)
}

/// [`load`], with the secrets' variables required or not.
pub fn load_with(
    paths: &[PathBuf],
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    secrets: Secrets,
) -> Loaded {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    // Every file is read before any is decoded, so the decoding can borrow all their texts.
    let paths = expand(paths, &mut sources, &mut diagnostics);
    let read_count = paths.len();
    let ids: Vec<SourceId> = paths
        .iter()
        .filter_map(|path| read(path, &mut sources, &mut diagnostics))
        .collect();
    let mut files = Vec::new();
    // Each file's decoding state, whether it has a list of users to read, and whether the rest
    // of the file decoded (only then are its users resolved; they are always checked).
    let mut pending: Vec<(Cx, bool, bool)> = Vec::new();
    let mut hidden = Vec::new();
    for &id in &ids {
        let text = sources.text(id).unwrap_or_default();
        // Secrets are found in the text before it is parsed, so no message about it shows one.
        hidden.push((id, super::secrets::scan(text)));
        let mut cx = Cx::new(id, text, env);
        let mut users = false;
        let doc = match yaml::parse_leaving_out::<Users>(text) {
            Ok(Some((root, items))) => {
                let mut doc = FileDoc::decode(&root, &mut cx);
                if let Some(items) = items {
                    users = true;
                    if let Some(list) = doc.as_mut().and_then(|d| d.users.as_mut()) {
                        list.value.len = items;
                    }
                }
                doc
            }
            Ok(None) => {
                cx.diagnostics.push(
                    Diagnostic::new(id, None, "the file is empty")
                        .hint("a desired-state file starts with `version: 1`; remove the file if it is not needed"),
                );
                None
            }
            Err(err) => {
                cx.diagnostics.push(syntax_diagnostic(id, err));
                None
            }
        };
        let decoded = doc.is_some();
        if let Some(doc) = doc {
            files.push((id, doc));
        }
        pending.push((cx, users, decoded));
    }
    // Whole-set checks run on whatever decoded, so one run reports as much as it can. When a
    // file could not be read at all, its missing sections are not reported again.
    let complete = files.len() == read_count;
    // The built-in sandbox signs in with its own credentials.
    let sandbox_credentials: std::collections::BTreeSet<String> = files
        .iter()
        .filter_map(|(_, file)| file.target.as_ref())
        .filter(|t| t.value.url.value == crate::model::vocab::TargetUrl::Sandbox)
        .filter_map(|t| t.value.credentials.as_ref())
        .flat_map(|c| validate::credential_vars(&c.value))
        .collect();
    let mut resolver = if files.is_empty() {
        None
    } else {
        validate::Resolver::new(&files, complete, &mut diagnostics)
    };
    // The users are read and decoded one at a time, once the rest of the set is known, and each
    // is dropped as soon as it is converted: a file of many users is never held whole, as YAML
    // or decoded.
    for (cx, users, decoded) in &mut pending {
        if !*users {
            continue;
        }
        let text = sources.text(cx.source).unwrap_or_default();
        let mut resolver = resolver.as_mut().filter(|_| *decoded);
        let read = yaml::each_item::<Users>(text, &mut |node| {
            let user = super::decode::item::<Spanned<UserDoc>>(&node, cx);
            if let (Some(user), Some(resolver)) = (user, resolver.as_deref_mut()) {
                resolver.user(cx.source, &user);
            }
        });
        if let Err(err) = read {
            cx.diagnostics.push(syntax_diagnostic(cx.source, err));
        }
    }
    let mut secret_vars = std::collections::BTreeSet::new();
    let mut plain_vars = Vec::new();
    let mut unset: Vec<(String, SourceId, Span)> = Vec::new();
    let mut sensitive = Vec::new();
    for (cx, ..) in pending {
        let id = cx.source;
        secret_vars.extend(cx.secret_vars);
        plain_vars.extend(cx.plain_vars.into_iter().map(|(var, span)| (var, id, span)));
        unset.extend(
            cx.unset_secrets
                .into_iter()
                .map(|(var, span)| (var, id, span)),
        );
        sensitive.extend(cx.sensitive.into_iter().map(|span| (id, span)));
        diagnostics.extend(cx.diagnostics);
    }
    for (id, span) in sensitive {
        sources.mark_sensitive(id, span);
    }
    for (id, found) in hidden {
        for range in found.ranges {
            sources.mark_sensitive_range(id, range);
        }
        sources.hide_words(found.words);
    }
    // A credential's variable used in another field would show the secret wherever that field
    // is shown (a plan, an export); it is refused, by name.
    for (var, id, span) in plain_vars {
        if secret_vars.contains(&var) {
            sources.mark_sensitive(id, span);
            diagnostics.push(
                Diagnostic::new(
                    id,
                    Some(span),
                    format!("`${{{var}}}` holds a credential or password, and is used here too"),
                )
                .hint("a credential's variable may be used only under `credentials` or as a `password`; give this field a variable of its own"),
            );
        }
    }
    let result = resolver.and_then(|resolver| resolver.finish(&mut diagnostics));
    // Unset variables, each once: an error where they are needed, else a list for the caller.
    let mut unset_vars: Vec<String> = Vec::new();
    for (var, id, span) in &unset {
        if unset_vars.contains(var) || sandbox_credentials.contains(var) {
            continue;
        }
        unset_vars.push(var.clone());
        if secrets == Secrets::Required {
            let uses = unset.iter().filter(|(v, ..)| v == var).count();
            let err = match env(var) {
                Some(_) => super::env::EnvError::Empty(var.clone()),
                None => super::env::EnvError::Missing(var.clone()),
            };
            let also = match uses {
                1 => String::new(),
                n => format!(" (used {n} times; this is the first)"),
            };
            diagnostics
                .push(Diagnostic::new(*id, Some(*span), format!("{err}{also}")).hint(err.hint()));
        }
    }
    let result = match result {
        Some(mut state) if diagnostics.is_empty() => {
            state.digests = (0..sources.len())
                .map(SourceId)
                .filter_map(|id| {
                    let text = sources.text(id)?;
                    Some((sources.path(id).to_path_buf(), sha256(text.as_bytes())))
                })
                .collect();
            state.paths = (0..sources.len())
                .map(|id| sources.path(SourceId(id)).to_path_buf())
                .collect();
            Ok(state)
        }
        _ => {
            diagnostic::sort(&mut diagnostics);
            Err(diagnostics)
        }
    };
    let unset = match secrets {
        Secrets::Required => Vec::new(),
        Secrets::Optional => unset_vars,
    };
    Loaded {
        sources,
        result,
        unset,
    }
}

fn syntax_diagnostic(id: SourceId, err: yaml::SyntaxError) -> Diagnostic {
    let message = err.message.to_lowercase();
    let (message, hint) = if message.contains("depth") || message.contains("recursion") {
        (
            format!(
                "the YAML is nested more than {} levels deep",
                yaml::MAX_DEPTH
            ),
            "a desired-state file needs only a few levels; check the indentation".to_string(),
        )
    } else if message.contains("unknown anchor") {
        (
            "the YAML refers to an anchor (`*name`) that is not defined before it".to_string(),
            "define the anchor (`&name`) earlier in the file, or write the value out".to_string(),
        )
    } else if message.contains("alias") || message.contains("anchor") || message.contains("replay")
    {
        (
            "the YAML uses too many aliases or expands them too far".to_string(),
            "write the values out instead of referencing anchors (`*name`) many times".to_string(),
        )
    } else if message.contains("budget") {
        (
            "the YAML is too large to read".to_string(),
            format!(
                "split it into several files of at most {} values each",
                yaml::MAX_NODES
            ),
        )
    } else if message.starts_with("the tag") {
        (
            err.message.clone(),
            "remove the tag and write the value itself; only plain YAML values are read"
                .to_string(),
        )
    } else if message.contains("more than one yaml document") {
        (
            err.message.clone(),
            "keep one document per file: split the documents into files of their own".to_string(),
        )
    } else if message.contains("duplicate") {
        (
            err.message.clone(),
            "each key may appear once in a mapping; remove or merge the repeated one".to_string(),
        )
    } else {
        (
            format!("invalid YAML: {}", err.message),
            "check the indentation and quoting around this place".to_string(),
        )
    };
    Diagnostic::new(id, err.span, message).hint(hint)
}

/// Expands directories into their `*.yaml` / `*.yml` files, in sorted order.
fn expand(
    paths: &[PathBuf],
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Err(err) => {
                let id = sources.add(path.clone(), None);
                let what = if err.kind() == std::io::ErrorKind::NotFound {
                    "no such file or directory".to_string()
                } else {
                    err.to_string()
                };
                diagnostics.push(Diagnostic::new(
                    id,
                    None,
                    format!("cannot read `{}`: {what}", path.display()),
                ));
            }
            Ok(meta) if meta.is_dir() => {
                let before = out.len();
                let mut visited = Vec::new();
                walk(path, 0, &mut out, &mut visited, sources, diagnostics);
                if out.len() == before {
                    let id = sources.add(path.clone(), None);
                    diagnostics.push(
                        Diagnostic::new(id, None, format!("the directory `{}` holds no `.yaml` or `.yml` files", path.display()))
                            .hint("point rollcall at a directory of desired-state files, or at the files themselves"),
                    );
                }
            }
            Ok(_) => out.push(path.clone()),
        }
    }
    // The same file named twice (overlapping shell globs, a file and its directory) is read
    // once, where it is first named.
    let mut seen = std::collections::HashSet::new();
    out.retain(|path| seen.insert(fs::canonicalize(path).unwrap_or_else(|_| path.clone())));
    out
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn walk(
    dir: &Path,
    depth: usize,
    out: &mut Vec<PathBuf>,
    visited: &mut Vec<PathBuf>,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) {
    // A directory reached twice through links is read once.
    if let Ok(canonical) = fs::canonicalize(dir) {
        if visited.contains(&canonical) {
            return;
        }
        visited.push(canonical);
    }
    if depth > MAX_DIR_DEPTH {
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            let id = sources.add(dir.to_path_buf(), None);
            diagnostics.push(Diagnostic::new(
                id,
                None,
                format!("cannot read the directory: {err}"),
            ));
            return;
        }
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, depth + 1, out, visited, sources, diagnostics);
        } else if is_yaml(&path) {
            out.push(path);
        }
    }
}

/// Reads one file as UTF-8 text, within the size limit. Problems are reported against the file.
fn read(path: &Path, sources: &mut Sources, diagnostics: &mut Vec<Diagnostic>) -> Option<SourceId> {
    match read_text(path) {
        Ok(text) => Some(sources.add(path.to_path_buf(), Some(text))),
        Err((span, message, hint)) => {
            let id = sources.add(path.to_path_buf(), None);
            let mut diagnostic = Diagnostic::new(id, span, message);
            diagnostic.hint = hint.map(str::to_string);
            diagnostics.push(diagnostic);
            None
        }
    }
}

type ReadError = (Option<Span>, String, Option<&'static str>);

fn read_text(path: &Path) -> Result<String, ReadError> {
    let io = |err: std::io::Error| (None, format!("cannot read the file: {err}"), None);
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err((
            None,
            format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20),
            Some("split the users over several files in a directory"),
        ));
    }
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        return Err((
            Some(position_of(&bytes, nul)),
            "the file is binary, not YAML text (it holds a NUL byte)".into(),
            Some("point rollcall at desired-state YAML files only"),
        ));
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..3);
            }
            Ok(text)
        }
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            Err((
                Some(position_of(err.as_bytes(), valid)),
                "the file is not valid UTF-8".into(),
                Some("save the file as UTF-8 text"),
            ))
        }
    }
}

/// The line and column of byte `at`, counting characters in the valid prefix.
fn position_of(bytes: &[u8], at: usize) -> Span {
    let prefix = &bytes[..at.min(bytes.len())];
    let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = prefix
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&prefix[line_start..])
        .chars()
        .count()
        + 1;
    Span {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        offset: 0,
        len: 0,
    }
}

/// The digest a saved plan records for the file at `path`, computed from the text as [`load`]
/// reads it; `None` when it cannot be read as a desired-state file. Nothing of the file is shown,
/// so a saved plan can be checked against its files before any of them is displayed.
pub fn file_digest(path: &Path) -> Option<String> {
    read_text(path).ok().map(|text| sha256(text.as_bytes()))
}

/// `sha256:` and the hex digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(bytes);
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256:");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// The target of a set of files, read ahead of the rest so that the account can be read while
/// the users are decoded. Only when exactly one file has a block-style `target:` at the top
/// level, and that block loads and validates on its own with every credential set; `None`
/// whenever there is any doubt. The full load still decides: a caller uses the hint only when
/// the full load's target is the same.
pub fn target_hint(
    paths: &[PathBuf],
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Option<DesiredState> {
    let mut sources = Sources::default();
    let mut ignored = Vec::new();
    let mut found = None;
    for path in expand(paths, &mut sources, &mut ignored) {
        let text = read_text(&path).ok()?;
        let mut lines = text.lines();
        let mut block = None;
        while let Some(line) = lines.next() {
            if line.trim_end() != "target:" {
                continue;
            }
            if block.is_some() || found.is_some() {
                return None;
            }
            // The block: every following line that is blank, a comment or indented.
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| l.is_empty() || l.starts_with([' ', '#']))
                .collect();
            block = Some(body.join("\n"));
        }
        if let Some(block) = block {
            found = Some((path, block));
        }
    }
    let (path, block) = found?;
    let text = format!("version: 1\ntarget:\n{block}\n");
    let id = sources.add(path, Some(text.clone()));
    let mut cx = Cx::new(id, &text, env);
    let doc = FileDoc::decode(&yaml::parse(&text).ok()??, &mut cx)?;
    if !cx.diagnostics.is_empty() || !cx.unset_secrets.is_empty() || !cx.plain_vars.is_empty() {
        return None;
    }
    let mut diagnostics = Vec::new();
    let files = [(id, doc)];
    let state =
        validate::Resolver::new(&files, true, &mut diagnostics)?.finish(&mut diagnostics)?;
    diagnostics.is_empty().then_some(state)
}
