//! Problems found in desired-state files, and how they are shown.
//!
//! A [`Diagnostic`] points into a file by [`SourceId`] and [`Span`]. [`Sources`] holds the text of
//! every file read, so a diagnostic can be rendered the way compilers do: `path:line:col`, the
//! offending line, a caret under the culprit, and a hint saying what to do. Text ranges that hold
//! secrets are registered with [`Sources::mark_sensitive`] and are masked in every snippet.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anstyle::{AnsiColor, Style};

use crate::yaml::Span;

/// Index of a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(pub usize);

/// A place in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub source: SourceId,
    pub span: Span,
}

/// Every file a run has read, kept for rendering snippets.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
    /// Words that may be secrets, longest first, removed from every message shown.
    secret_words: Vec<String>,
}

#[derive(Debug)]
struct SourceFile {
    path: PathBuf,
    /// The text, when it could be read as UTF-8.
    text: Option<String>,
    /// Byte ranges never to be shown.
    sensitive: Vec<(usize, usize)>,
}

impl Sources {
    /// Registers a file and returns its id; `text` is `None` when it could not be read.
    pub fn add(&mut self, path: PathBuf, text: Option<String>) -> SourceId {
        self.files.push(SourceFile {
            path,
            text,
            sensitive: Vec::new(),
        });
        SourceId(self.files.len() - 1)
    }

    pub fn path(&self, id: SourceId) -> &Path {
        &self.files[id.0].path
    }

    pub fn text(&self, id: SourceId) -> Option<&str> {
        self.files[id.0].text.as_deref()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Masks the text under `span` in every snippet shown from this file.
    pub fn mark_sensitive(&mut self, id: SourceId, span: Span) {
        if span.len > 0 {
            let range = span.range();
            self.mark_sensitive_range(id, range);
        }
    }

    /// Masks the bytes in `range` of a file in every snippet shown from it.
    pub fn mark_sensitive_range(&mut self, id: SourceId, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        // Kept sorted and merged, so overlapping ranges are masked once.
        let ranges = &mut self.files[id.0].sensitive;
        ranges.push((range.start, range.end));
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for &(s, e) in ranges.iter() {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *ranges = merged;
    }

    /// Removes `words` from every message, label and hint shown from now on.
    pub fn hide_words(&mut self, words: impl IntoIterator<Item = String>) {
        self.secret_words.extend(words);
        self.secret_words
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.secret_words.dedup();
    }

    /// `text` as it may be shown: without any word that may be a secret, without any value
    /// this process holds as a secret, and with control characters escaped.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = crate::redact::scrub(text).into_owned();
        for word in &self.secret_words {
            if text.contains(word.as_str()) {
                text = text.replace(word.as_str(), "<redacted>");
            }
        }
        crate::escape::visible(&text).into_owned()
    }

    /// The source line holding `span`, with sensitive text masked, and the caret's start column
    /// and width counted in characters of that masked line.
    fn line_for(&self, id: SourceId, span: Span) -> Option<(String, usize, usize)> {
        let file = &self.files[id.0];
        let text = file.text.as_deref()?;
        let line_index = usize::try_from(span.line).ok()?.checked_sub(1)?;
        let line_start = if span.len > 0 || span.offset > 0 {
            // An offset that is not a character boundary of this text is not trusted.
            text.get(..span.range().start)?
                .rfind('\n')
                .map_or(0, |i| i + 1)
        } else {
            // No byte offset: find the line by counting.
            let mut start = 0;
            for _ in 0..line_index {
                start += text.get(start..)?.find('\n')? + 1;
            }
            start
        };
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        let raw = text[line_start..line_end].trim_end_matches('\r');
        let mut shown = String::with_capacity(raw.len());
        let mut caret_col = None;
        let mut caret_width = 0;
        let span_start = if span.len > 0 || span.offset > 0 {
            span.range().start
        } else {
            line_start
                + raw
                    .char_indices()
                    .nth(usize::try_from(span.column).unwrap_or(1).saturating_sub(1))
                    .map_or(raw.len(), |(i, _)| i)
        };
        let span_end = span_start + span.range().len().max(1);
        // Besides the ranges marked when the file was read, any secret this process holds.
        let held: Vec<(usize, usize)> = crate::redact::ranges(raw)
            .into_iter()
            .map(|r| (line_start + r.start, line_start + r.end))
            .collect();
        let mut chars = raw.char_indices().peekable();
        let mut col = 0;
        while let Some((i, c)) = chars.next() {
            let at = line_start + i;
            let masked = file
                .sensitive
                .iter()
                .chain(&held)
                .filter(|&&(s, e)| s <= at && at < e);
            if let Some((s, e)) = masked.fold(None, |acc: Option<(usize, usize)>, &(s, e)| {
                Some(acc.map_or((s, e), |(s0, e0)| (s0.min(s), e0.max(e))))
            }) {
                let mask = "<redacted>";
                if (s..e.max(s + 1)).contains(&span_start) {
                    caret_col.get_or_insert(col);
                    caret_width = mask.len();
                }
                shown.push_str(mask);
                col += mask.len();
                while chars.peek().is_some_and(|&(j, _)| line_start + j < e) {
                    chars.next();
                }
                continue;
            }
            if at == span_start {
                caret_col = Some(col);
            }
            if (span_start..span_end).contains(&at) && caret_col.is_some() {
                caret_width += 1;
            }
            if c != '\t' && crate::escape::visible(c.encode_utf8(&mut [0; 4])).len() > 1 {
                // A control character in the file is shown as its escape, never acted on.
                let escaped = crate::escape::visible(c.encode_utf8(&mut [0; 4])).into_owned();
                col += escaped.chars().count();
                shown.push_str(&escaped);
                continue;
            }
            shown.push(if c == '\t' { ' ' } else { c });
            col += 1;
        }
        let caret_col = caret_col.unwrap_or(col);
        Some((shown, caret_col, caret_width.max(1)))
    }
}

/// One problem, pointing at a place in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub source: SourceId,
    /// `None` when the problem concerns the file as a whole.
    pub span: Option<Span>,
    pub message: String,
    /// Printed beside the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// Another place involved, such as the first declaration of a duplicate.
    pub related: Option<(Origin, String)>,
}

impl Diagnostic {
    pub fn new(source: SourceId, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            source,
            span,
            message: message.into(),
            label: None,
            hint: None,
            related: None,
        }
    }

    pub fn at(origin: Origin, message: impl Into<String>) -> Self {
        Self::new(origin.source, Some(origin.span), message)
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn related(mut self, origin: Origin, label: impl Into<String>) -> Self {
        self.related = Some((origin, label.into()));
        self
    }

    /// The sort key that puts diagnostics in reading order.
    fn position(&self) -> (SourceId, u32, u32) {
        let span = self.span.unwrap_or_default();
        (self.source, span.line, span.column)
    }
}

/// Puts diagnostics in reading order (file, line, column) and drops exact repeats.
pub fn sort(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by_key(|a| a.position());
    diagnostics.dedup();
}

/// Renders diagnostics as text; `color` adds ANSI styles.
pub struct Renderer<'a> {
    sources: &'a Sources,
    color: bool,
}

impl<'a> Renderer<'a> {
    pub fn new(sources: &'a Sources, color: bool) -> Self {
        Renderer { sources, color }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// `path:line:col` for a place, or just the path.
    pub fn location(&self, source: SourceId, span: Option<Span>) -> String {
        let path = self.sources.path(source).display().to_string();
        let path = crate::escape::visible(&path);
        match span {
            Some(span) if span.line > 0 => format!("{path}:{}:{}", span.line, span.column),
            _ => path.to_string(),
        }
    }

    pub fn render(&self, diagnostic: &Diagnostic) -> String {
        let error = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
        let bold = Style::new().bold();
        let blue = Style::new().bold().fg_color(Some(AnsiColor::Blue.into()));
        let cyan = Style::new().fg_color(Some(AnsiColor::Cyan.into()));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}{}",
            self.paint(error, "error"),
            self.paint(
                bold,
                &format!(": {}", self.sources.scrub(&diagnostic.message))
            )
        );
        let label = diagnostic.label.as_deref().map(|l| self.sources.scrub(l));
        let primary = self.snippet(
            diagnostic.source,
            diagnostic.span,
            label.as_deref(),
            ('^', error),
        );
        let mut gutter = primary.1;
        let mut related = None;
        if let Some((origin, label)) = &diagnostic.related {
            let label = self.sources.scrub(label);
            let snippet = self.snippet(origin.source, Some(origin.span), Some(&label), ('-', blue));
            gutter = gutter.max(snippet.1);
            related = Some(snippet);
        }
        let pad = " ".repeat(gutter);
        let _ = writeln!(
            out,
            "{pad}{} {}",
            self.paint(blue, "-->"),
            self.location(diagnostic.source, diagnostic.span)
        );
        out.push_str(&self.lines(&primary.0, gutter, blue));
        if let (Some((lines, _)), Some((origin, _))) = (related, &diagnostic.related) {
            let _ = writeln!(
                out,
                "{pad}{} {}",
                self.paint(blue, ":::"),
                self.location(origin.source, Some(origin.span))
            );
            out.push_str(&self.lines(&lines, gutter, blue));
        }
        if let Some(hint) = &diagnostic.hint {
            let _ = writeln!(
                out,
                "{pad}{} {}: {}",
                self.paint(blue, "="),
                self.paint(cyan, "hint"),
                self.sources.scrub(hint)
            );
        }
        out
    }

    /// The snippet rows (line number, text, caret row) and the gutter width they need.
    #[allow(clippy::type_complexity)]
    fn snippet(
        &self,
        source: SourceId,
        span: Option<Span>,
        label: Option<&str>,
        (mark, caret_style): (char, Style),
    ) -> (Option<(String, String, String)>, usize) {
        let Some(span) = span.filter(|s| s.line > 0) else {
            return (None, 1);
        };
        let Some((line, col, width)) = self.sources.line_for(source, span) else {
            return (None, 1);
        };
        let number = span.line.to_string();
        let mut caret = format!("{}{}", " ".repeat(col), mark.to_string().repeat(width));
        if let Some(label) = label {
            caret.push(' ');
            caret.push_str(label);
        }
        let caret = self.paint(caret_style, &caret);
        let width = number.len() + 1;
        (Some((number, line, caret)), width)
    }

    fn lines(
        &self,
        rows: &Option<(String, String, String)>,
        gutter: usize,
        style: Style,
    ) -> String {
        let Some((number, line, caret)) = rows else {
            return String::new();
        };
        let pad = " ".repeat(gutter);
        let bar = self.paint(style, "|");
        let num = self.paint(style, &format!("{number:>w$}", w = gutter - 1));
        format!("{pad}{bar}\n{num} {bar} {line}\n{pad}{bar} {caret}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(text: &str) -> (Sources, SourceId) {
        let mut sources = Sources::default();
        let id = sources.add("team.yaml".into(), Some(text.to_string()));
        (sources, id)
    }

    #[test]
    fn renders_location_line_caret_and_hint() {
        let (sources, id) = sources("version: 1\nusers:\n  - emial: ada@acme.org\n");
        let span = Span {
            line: 3,
            column: 5,
            offset: 22,
            len: 5,
        };
        let d = Diagnostic::new(id, Some(span), "unknown key `emial` in a user")
            .label("did you mean `email`?")
            .hint("remove the key or fix its spelling");
        let text = Renderer::new(&sources, false).render(&d);
        assert_eq!(
            text,
            "error: unknown key `emial` in a user\n  --> team.yaml:3:5\n  |\n3 |   - emial: ada@acme.org\n  |     ^^^^^ did you mean `email`?\n  = hint: remove the key or fix its spelling\n"
        );
    }

    #[test]
    fn sensitive_text_is_masked_in_snippets() {
        let text = "credentials:\n  client_secret: hunter2-very-secret\n";
        let (mut sources, id) = sources(text);
        let offset = text.find("hunter2").unwrap() as u32;
        let span = Span {
            line: 2,
            column: 18,
            offset,
            len: "hunter2-very-secret".len() as u32,
        };
        sources.mark_sensitive(id, span);
        let d = Diagnostic::new(id, Some(span), "a literal secret");
        let rendered = Renderer::new(&sources, false).render(&d);
        assert!(!rendered.contains("hunter2"), "{rendered}");
        assert!(rendered.contains("client_secret: <redacted>"), "{rendered}");
        assert!(rendered.contains("^^^^^^^^^^"), "{rendered}");
    }

    #[test]
    fn file_level_problems_have_no_snippet() {
        let (sources, id) = sources("");
        let d = Diagnostic::new(id, None, "the file is empty");
        assert_eq!(
            Renderer::new(&sources, false).render(&d),
            "error: the file is empty\n --> team.yaml\n"
        );
    }
}
