//! Where a file's text may hold a secret, found before the text is parsed, so that no message
//! about it shows one: not a type error, not a misspelt key, not a YAML syntax error on the
//! secret's own line.
//!
//! The scan reads lines and indentation only, the way a reviewer would, and errs on the side of
//! hiding. Under `credentials`, every value is hidden unless it is exactly one `${VAR}`
//! reference, and so is every key that is not (nearly) a credential key, since a secret may have
//! been written as a key. The value of any `password` is hidden the same way. A value's
//! continuation lines, indented below its key, are hidden whole, and so is the rest of a line
//! after `credentials:` or `password:` written inside a flow collection (`{...}`).

use std::ops::Range;

use super::env;

/// The keys that may appear under `credentials`.
const CREDENTIAL_KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "api_token",
    "api_key",
    "username",
    "password",
];

/// Shorter words are not removed from messages: no secret is that short, and ordinary words are.
const MIN_WORD: usize = 4;

/// What in a file must never be shown.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Hidden {
    /// Byte ranges, each within one line.
    pub ranges: Vec<Range<usize>>,
    /// The words in those ranges, to be removed from any message that quotes them.
    pub words: Vec<String>,
}

/// An open block whose more-indented lines belong to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    /// The entries of `credentials`.
    Credentials,
    /// A secret value's continuation lines.
    Value,
}

/// Finds every range of `text` that may hold a secret.
pub fn scan(text: &str) -> Hidden {
    let mut hidden = Hidden::default();
    let mut open: Vec<(usize, Block)> = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let line_start = start;
        start += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let body = line.trim_start();
        if body.is_empty() {
            continue;
        }
        let indent = line.len() - body.len();
        while open.last().is_some_and(|&(at, _)| indent <= at) {
            open.pop();
        }
        if body.starts_with('#') && open.is_empty() {
            continue;
        }
        let mut hide = |from: usize| {
            let Some(rest) = line.get(from..) else {
                return;
            };
            let from = from + rest.len() - rest.trim_start().len();
            let from = line_start + from;
            let to = line_start + line.trim_end().len();
            if from < to {
                hidden.ranges.push(from..to);
            }
        };
        if let Some(&(_, Block::Value)) = open.last() {
            hide(indent);
            continue;
        }
        // The key, past any `- ` list markers: its column, its name and where its value starts.
        let mut column = indent;
        let mut rest = body;
        while let Some(after) = rest
            .strip_prefix('-')
            .filter(|a| a.is_empty() || a.starts_with([' ', '\t']))
        {
            let trimmed = after.trim_start();
            column += rest.len() - trimmed.len();
            rest = trimmed;
        }
        let entry = key_of(rest);
        let in_credentials = matches!(open.last(), Some(&(_, Block::Credentials)));
        match entry {
            Some((key, value_at)) => {
                let value = &rest[value_at..];
                let value_column = column + value_at + (value.len() - value.trim_start().len());
                let secret_value = in_credentials || near(&key, "password");
                let credentials = near(&key, "credentials");
                if in_credentials && !near_credential_key(&key) {
                    hide(column);
                } else if (secret_value && !is_safe_value(value))
                    || (credentials && !is_blank(value))
                {
                    hide(value_column);
                }
                if credentials && is_blank(value) {
                    open.push((column, Block::Credentials));
                } else if secret_value || credentials {
                    open.push((column, Block::Value));
                } else if let Some(at) = inline_secret(value) {
                    hide(column + value_at + at);
                }
            }
            None if in_credentials => hide(column),
            None => {
                if let Some(at) = inline_secret(rest) {
                    hide(column + at);
                }
            }
        }
    }
    for range in &hidden.ranges {
        let text = &text[range.clone()];
        // A comment after a value is hidden with it, but its words are not taken as secrets.
        let text = text.find(" #").map_or(text, |at| &text[..at]);
        hidden.words.extend(
            text.split(|c: char| c.is_whitespace() || "[]{},:\"'&*#".contains(c))
                .filter(|w| w.chars().count() >= MIN_WORD && env::sole_reference(w).is_none())
                .map(str::to_string),
        );
    }
    hidden
        .words
        .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    hidden.words.dedup();
    hidden
}

/// The key of a block mapping entry at the start of `text` (unquoted, lower-cased) and the byte
/// offset where its value starts; `None` when `text` does not start with one.
fn key_of(text: &str) -> Option<(String, usize)> {
    let (key, after) = match text.chars().next()? {
        quote @ ('"' | '\'') => {
            let end = text[1..].find(quote)? + 1;
            (&text[1..end], end + 1)
        }
        '{' | '[' | '&' | '*' | '!' | '|' | '>' => return None,
        _ => {
            let colon = text
                .char_indices()
                .find(|&(i, c)| {
                    c == ':'
                        && text[i + 1..]
                            .chars()
                            .next()
                            .is_none_or(|n| n == ' ' || n == '\t')
                })?
                .0;
            (&text[..colon], colon)
        }
    };
    let rest = text.get(after..)?;
    let rest_trimmed = rest.trim_start_matches([' ', '\t']);
    let colon = rest_trimmed.strip_prefix(':')?;
    if !(colon.is_empty() || colon.starts_with([' ', '\t'])) {
        return None;
    }
    let value_at = text.len() - colon.len();
    Some((key.trim().to_lowercase(), value_at))
}

/// Whether a value may be shown: nothing, a comment, or exactly one `${VAR}` reference.
fn is_safe_value(value: &str) -> bool {
    let value = value.trim();
    if is_blank(value) {
        return true;
    }
    let unquoted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    env::sole_reference(unquoted).is_some()
}

fn is_blank(value: &str) -> bool {
    let value = value.trim();
    value.is_empty() || value.starts_with('#')
}

/// Whether `key` is a credential key or a likely misspelling of one: anything else under
/// `credentials` may be a secret written as a key.
fn near_credential_key(key: &str) -> bool {
    CREDENTIAL_KEYS.iter().any(|known| within_two(key, known))
}

/// Whether `a` and `b` are at most two edits apart. Words whose lengths (in characters) differ
/// by more are not, which spares most keys the distance itself.
fn within_two(a: &str, b: &str) -> bool {
    a.chars().count().abs_diff(b.chars().count()) <= 2 && strsim::damerau_levenshtein(a, b) <= 2
}

/// Whether `key` is `word` or a likely misspelling of it (`pasword`, `credentails`): a secret
/// under a misspelt key is still a secret.
fn near(key: &str, word: &str) -> bool {
    key.len() >= 5 && within_two(&key.to_ascii_lowercase(), word)
}

/// Where the value of a `credentials:` or `password:` (or a misspelling of either) written
/// inside a flow collection starts: just after the first colon that follows such a key.
fn inline_secret(text: &str) -> Option<usize> {
    text.match_indices(':')
        .map(|(at, _)| at)
        .find(|&at| {
            let before = text[..at].trim_end_matches(['"', '\'', ' ', '\t']);
            let word_start = before
                .char_indices()
                .rev()
                .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |(i, c)| i + c.len_utf8());
            let word = &before[word_start..];
            near(word, "password") || near(word, "credentials")
        })
        .map(|at| at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of each hidden range.
    fn hidden(text: &str) -> Vec<&str> {
        scan(text).ranges.into_iter().map(|r| &text[r]).collect()
    }

    const HEAD: &str = "version: 1\ntarget:\n  provider: piwik-pro\n  credentials:\n";

    #[test]
    fn references_show_and_everything_else_under_credentials_hides() {
        let text = format!(
            "{HEAD}    client_id: ${{ID}}\n    client_secret: \"${{SECRET}}\"\n    api_key: hunter2 # old\n    client_secert: s3cret\n    s3cr3t-as-a-key: x\n    - odd line\nusers:\n  - email: ada@acme.org\n"
        );
        assert_eq!(
            hidden(&text),
            ["hunter2 # old", "s3cret", "s3cr3t-as-a-key: x", "odd line"]
        );
        assert_eq!(
            scan(&text).words,
            ["s3cr3t-as-a-key", "hunter2", "s3cret", "line"]
        );
    }

    #[test]
    fn flow_values_and_continuations_hide_whole() {
        let text = format!(
            "{HEAD}    client_secret: [s3cret, x]\n    api_key: \"abc\n      def\"\n    api_token: |\n      line one\n      line two\nusers:\n  - email: a@b.c\n"
        );
        assert_eq!(
            hidden(&text),
            ["[s3cret, x]", "\"abc", "def\"", "|", "line one", "line two"]
        );
    }

    #[test]
    fn passwords_hide_wherever_they_are() {
        let text = "users:\n  - email: a@b.c\n    password: hunter2\n  - password: ${P}\n  - {email: x@y.z, password: flow-secret}\n    ";
        assert_eq!(hidden(text), ["hunter2", "flow-secret}"]);
        let text = "target: {provider: bedita, credentials: {api_key: k3y}}\n";
        assert_eq!(hidden(text), ["{api_key: k3y}}"]);
        let text = "target:\n  credentials: {api_key: k3y,\n    username: me}\n";
        assert_eq!(hidden(text), ["{api_key: k3y,", "username: me}"]);
    }

    #[test]
    fn misspelt_keys_and_odd_text_still_hide_the_secret() {
        let text = "users:\n  - email: a@b.co\n    pasword: hunter2\n  - {name: xȺpassword: w1de}\n  - {email: password@acme.org, password: s3cret}}\n  - {name: ȺȺȺȺȺȺȺȺȺȺȺȺ, passwd: k3y}\n  - {name: İbrahim İnce, password: t0psecret}\ntarget:\n  credentails: {api_key: k3y2}\n";
        assert_eq!(
            hidden(text),
            [
                "hunter2",
                "w1de}",
                "s3cret}}",
                "k3y}",
                "t0psecret}",
                "{api_key: k3y2}"
            ]
        );
    }

    #[test]
    fn a_block_ends_where_the_indentation_does() {
        let text = format!("{HEAD}    api_key: ${{K}}\n  url: https://x\nusers: []\n");
        assert!(hidden(&text).is_empty());
    }
}
