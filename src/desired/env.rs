//! `${VAR}` references: expanded from the environment when files are loaded.
//!
//! Any string may hold references; `$${` writes a literal `${`. Credentials and initial passwords
//! must be nothing but one reference (see [`SecretRef`](super::format::SecretRef)), so that no
//! secret is ever committed to a file.

use std::fmt;

/// Why a string could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvError {
    /// The variable is not set.
    Missing(String),
    /// The variable is set but empty.
    Empty(String),
    /// `${` without a valid name and closing `}`.
    Malformed(String),
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvError::Missing(name) => write!(f, "environment variable `{name}` is not set"),
            EnvError::Empty(name) => write!(f, "environment variable `{name}` is empty"),
            EnvError::Malformed(text) => write!(f, "malformed variable reference `{text}`"),
        }
    }
}

impl EnvError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            EnvError::Missing(name) | EnvError::Empty(name) => {
                format!("set it before running rollcall: `export {name}=...`")
            }
            EnvError::Malformed(_) => {
                "write `${NAME}` with letters, digits and `_`, or `$${` for a literal `${`".into()
            }
        }
    }
}

/// True for names made of ASCII letters, digits and `_`, not starting with a digit.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The variable name when `text` is exactly one reference, `${NAME}`.
pub fn sole_reference(text: &str) -> Option<&str> {
    let name = text.strip_prefix("${")?.strip_suffix('}')?;
    is_valid_name(name).then_some(name)
}

/// Expands every `${NAME}` in `text` through `lookup`.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, EnvError> {
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                return Err(EnvError::Malformed(tail.chars().take(40).collect()));
            };
            let name = &after[..end];
            if !is_valid_name(name) {
                return Err(EnvError::Malformed(format!("${{{name}}}")));
            }
            match lookup(name) {
                None => return Err(EnvError::Missing(name.to_string())),
                Some(value) if value.is_empty() => return Err(EnvError::Empty(name.to_string())),
                Some(value) => out.push_str(&value),
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("acme.piwik.pro".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_references_and_escapes() {
        assert_eq!(
            interpolate("https://${HOST}/x", &env).unwrap(),
            "https://acme.piwik.pro/x"
        );
        assert_eq!(
            interpolate("cost $5, $${HOST}", &env).unwrap(),
            "cost $5, ${HOST}"
        );
        assert_eq!(interpolate("plain", &env).unwrap(), "plain");
    }

    #[test]
    fn reports_missing_empty_and_malformed() {
        assert_eq!(
            interpolate("${NOPE}", &env),
            Err(EnvError::Missing("NOPE".into()))
        );
        assert_eq!(
            interpolate("${EMPTY}", &env),
            Err(EnvError::Empty("EMPTY".into()))
        );
        assert!(matches!(
            interpolate("${9x}", &env),
            Err(EnvError::Malformed(_))
        ));
        assert!(matches!(
            interpolate("${HOST", &env),
            Err(EnvError::Malformed(_))
        ));
    }

    #[test]
    fn sole_reference_is_exactly_one_variable() {
        assert_eq!(sole_reference("${PIWIK_SECRET}"), Some("PIWIK_SECRET"));
        assert_eq!(sole_reference("x${A}"), None);
        assert_eq!(sole_reference("hunter2"), None);
        assert_eq!(sole_reference("${A}${B}"), None);
    }
}
