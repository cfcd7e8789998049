//! Text that came from outside (a live username, a server's error, a value in a file) made safe to
//! show: on a terminal no byte of it acts as a control sequence or starts a new line, and in
//! Markdown none of it leaves its code span, opens a link or becomes HTML.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` would act on a terminal or reorder text rather than show: the C0 and C1 controls,
/// DEL, and the Unicode bidirectional overrides and isolates.
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character written as a visible escape (`\n`, `\t`, `\0`, `\e`,
/// `\u{9b}`, ...). Text without any is returned as it is.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            '\u{1b}' => out.push_str("\\e"),
            c if is_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` as one Markdown code span, whatever it holds: the fence is longer than any run of
/// backticks inside, padded where the text starts or ends with one, and control characters are
/// escaped first. A `|` is escaped so that the span also holds inside a table cell.
pub fn code(text: &str) -> String {
    let text = visible(text).replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// `text` as plain Markdown prose: every character Markdown or HTML would read as markup is
/// escaped, so it shows as written and links, images and tags cannot appear.
pub fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in visible(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '|' | '~' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// rollcall's own Markdown-flavoured text (a removal's reason, a guard's message) with outside
/// values in it: the parts between backticks become code spans and the rest prose, each escaped,
/// so that a value can neither end its span nor add markup whatever it holds.
pub fn mixed(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| match (i % 2, part.is_empty()) {
            (_, true) => String::new(),
            (0, false) => prose(part),
            _ => code(part),
        })
        .collect()
}

/// A code fence for a block holding `text`: longer than any run of backticks in it.
pub fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible() {
        assert_eq!(visible("ada@acme.org"), "ada@acme.org");
        assert_eq!(
            visible("a\u{1b}[2Jb\r\nc\0d\u{9b}e\u{202e}f\tg\u{7f}"),
            "a\\e[2Jb\\r\\nc\\0d\\u{9b}e\\u{202e}f\\tg\\u{7f}"
        );
    }

    #[test]
    fn code_spans_hold_whatever_they_are_given() {
        assert_eq!(code("ada"), "`ada`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(code("a|b\nc"), "`a\\|b\\nc`");
        assert_eq!(code(""), "`  `");
    }

    #[test]
    fn prose_cannot_make_links_or_tags() {
        assert_eq!(
            prose("[x](https://evil) <img src=x> *a* & b_c"),
            "\\[x\\]\\(https://evil\\) &lt;img src=x&gt; \\*a\\* &amp; b\\_c"
        );
    }

    #[test]
    fn mixed_text_keeps_its_own_code_spans_only() {
        assert_eq!(
            mixed("`state: absent` in team_a.yaml:3"),
            "`state: absent` in team\\_a.yaml:3"
        );
        // An odd backtick from a value opens a span that is closed, never left open.
        assert_eq!(mixed("in `a`b` x"), "in `a`b` x`");
    }

    #[test]
    fn fences_outgrow_the_backticks_inside() {
        assert_eq!(fence("plain"), "```");
        assert_eq!(fence("a ```` b"), "`````");
    }
}
