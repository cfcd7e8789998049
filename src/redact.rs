//! The secrets this process holds, so that text from elsewhere can be cleaned of them: a service
//! that echoes an initial password or a token in its error must not put it on screen.
//!
//! Every [`Secret`](crate::model::vocab::Secret) is remembered here when it is made; [`scrub`]
//! replaces each remembered value in a text with `<redacted>`.

use std::borrow::Cow;
use std::sync::Mutex;

/// Shorter values are not scrubbed: they would mangle ordinary words, and no credential rollcall
/// accepts is that short.
const MIN_LEN: usize = 4;

static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers `secret`, so that [`scrub`] removes it from now on.
pub fn remember(secret: &str) {
    if secret.len() < MIN_LEN {
        return;
    }
    if let Ok(mut known) = KNOWN.lock()
        && !known.iter().any(|k| k == secret)
    {
        known.push(secret.to_string());
        // Longest first, so that a secret holding another is replaced whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// `text` with every remembered secret replaced by `<redacted>`.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let Ok(known) = KNOWN.lock() else {
        return Cow::Borrowed(text);
    };
    let mut out = Cow::Borrowed(text);
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), "<redacted>"));
        }
    }
    out
}

/// The byte ranges of `text` that hold a remembered secret.
pub fn ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    let Ok(known) = KNOWN.lock() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for secret in known.iter() {
        found.extend(
            text.match_indices(secret.as_str())
                .map(|(at, s)| at..at + s.len()),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_secrets_are_scrubbed_longest_first() {
        remember("s3cret-value");
        remember("s3cret-value-longer");
        remember("abc");
        assert_eq!(
            scrub("weak password s3cret-value-longer, and s3cret-value; abc"),
            "weak password <redacted>, and <redacted>; abc"
        );
        assert!(matches!(scrub("nothing here"), Cow::Borrowed(_)));
        let found = ranges("a s3cret-value b");
        assert_eq!((found.len(), found.first()), (1, Some(&(2..14))));
    }
}
