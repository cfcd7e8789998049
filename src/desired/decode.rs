//! Turns a YAML [`Node`] tree into the typed file format, collecting every problem on the way.
//!
//! Each format type implements [`Decode`]. Mapping types are declared with the [`record!`] macro,
//! which writes the struct (whose field names are also the YAML keys and the JSON-schema property
//! names) and its decoder together, so the schema and the decoder cannot disagree. A field that
//! fails to decode is reported and decoding carries on with its siblings, so one run shows all the
//! problems in a file.

use crate::diagnostic::{Diagnostic, Origin, SourceId};
use crate::yaml::{Node, Span, Value};

use super::env;

/// Decoding state for one file: where diagnostics go and how `${VAR}` is resolved.
pub struct Cx<'a> {
    pub source: SourceId,
    text: &'a str,
    env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub diagnostics: Vec<Diagnostic>,
    /// Spans of literal secrets, masked whenever the file is shown.
    pub sensitive: Vec<Span>,
    /// The variables credentials and passwords are read from.
    pub secret_vars: Vec<String>,
    /// Every variable referenced elsewhere, with where.
    pub plain_vars: Vec<(String, Span)>,
    /// Credential and password variables that are unset or empty, with where; the loader
    /// decides whether that is an error.
    pub unset_secrets: Vec<(String, Span)>,
}

impl<'a> Cx<'a> {
    pub fn new(
        source: SourceId,
        text: &'a str,
        env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    ) -> Self {
        Cx {
            source,
            text,
            env,
            diagnostics: Vec::new(),
            sensitive: Vec::new(),
            secret_vars: Vec::new(),
            plain_vars: Vec::new(),
            unset_secrets: Vec::new(),
        }
    }

    pub fn origin(&self, span: Span) -> Origin {
        Origin {
            source: self.source,
            span,
        }
    }

    /// Reports a problem at `span` and returns the diagnostic for further decoration.
    pub fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics
            .push(Diagnostic::new(self.source, Some(span), message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    /// The source text under `span`, for quoting in hints.
    pub fn text_of(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }

    /// Resolves `${VAR}` references in `text`, reporting unknown or malformed ones at `span`.
    pub fn interpolate(&mut self, text: &str, span: Span) -> Option<String> {
        let used = std::cell::RefCell::new(Vec::new());
        let lookup = |name: &str| {
            used.borrow_mut().push(name.to_string());
            (self.env)(name)
        };
        let expanded = env::interpolate(text, &lookup);
        self.plain_vars
            .extend(used.into_inner().into_iter().map(|name| (name, span)));
        match expanded {
            Ok(value) => Some(value),
            Err(err) => {
                let hint = err.hint();
                self.error(span, err.to_string()).hint = Some(hint);
                None
            }
        }
    }

    /// Looks a variable up in the environment.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    /// Reports a value of the wrong YAML type.
    pub fn wrong_type(&mut self, node: &Node, expected: &str) {
        let found = node.value.kind();
        let hint = match &node.value {
            Value::Int(_) | Value::Float(_) | Value::Bool(_) if expected == "a string" => {
                format!(
                    "quote it to make it a string: \"{}\"",
                    self.text_of(node.span)
                )
            }
            Value::Str(_) if expected.contains("list") => {
                "write a list: `[a, b]`, or one `- item` per line".to_string()
            }
            _ => format!("write {expected} here"),
        };
        self.error(node.span, format!("expected {expected}, found {found}"))
            .hint = Some(hint);
    }
}

/// A value that can be read from a YAML node.
pub trait Decode: Sized {
    /// Reads `node`, reporting problems to `cx`; `None` means a problem was reported.
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self>;

    /// The value of a mapping key that is absent. Required by default.
    fn missing(key: &str, what: &str, span: Span, cx: &mut Cx) -> Option<Self> {
        cx.error(span, format!("{what} is missing the required key `{key}`"))
            .hint = Some(format!("add `{key}: ...`"));
        None
    }
}

/// An optional key: absent means "not managed".
impl<T: Decode> Decode for Option<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        T::decode(node, cx).map(Some)
    }

    fn missing(_: &str, _: &str, _: Span, _: &mut Cx) -> Option<Self> {
        Some(None)
    }
}

/// A value together with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Where a decoded value was written, if it was written at all.
pub trait Located {
    fn location(&self) -> Option<Span>;
}

impl<T> Located for Spanned<T> {
    fn location(&self) -> Option<Span> {
        Some(self.span)
    }
}

impl<T: Located> Located for Option<T> {
    fn location(&self) -> Option<Span> {
        self.as_ref().and_then(Located::location)
    }
}

impl<T: Decode> Decode for Spanned<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        T::decode(node, cx).map(|value| Spanned {
            value,
            span: node.span,
        })
    }

    fn missing(key: &str, what: &str, span: Span, cx: &mut Cx) -> Option<Self> {
        T::missing(key, what, span, cx).map(|value| Spanned { value, span })
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Spanned<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }

    fn inline_schema() -> bool {
        T::inline_schema()
    }
}

impl Decode for String {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.value {
            Value::Str(text) => cx.interpolate(text, node.span),
            _ => {
                cx.wrong_type(node, "a string");
                None
            }
        }
    }
}

impl Decode for bool {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                cx.wrong_type(node, "`true` or `false`");
                None
            }
        }
    }
}

impl Decode for u32 {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match node.value {
            Value::Int(n) => match u32::try_from(n) {
                Ok(n) => Some(n),
                Err(_) => {
                    cx.error(node.span, format!("{n} is out of range")).hint =
                        Some("use a whole number from 0 to 4294967295".into());
                    None
                }
            },
            _ => {
                cx.wrong_type(node, "a whole number");
                None
            }
        }
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let Value::Seq(items) = &node.value else {
            cx.wrong_type(node, "a list");
            return None;
        };
        // Items that fail are reported and left out, so the rest can still be checked.
        let mut out = Vec::with_capacity(items.len());
        out.extend(items.iter().filter_map(|node| item(node, cx)));
        Some(out)
    }
}

/// A list whose items are read and decoded later, one at a time (by the loader, for `users`):
/// decoding it checks only that it is a list. A file of many users is then never held whole,
/// as YAML or decoded. Its schema is the list's.
#[derive(Clone, Debug, PartialEq)]
pub struct Deferred<T> {
    /// How many items the list holds.
    pub len: usize,
    item: std::marker::PhantomData<T>,
}

impl<T> Decode for Deferred<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let Value::Seq(items) = &node.value else {
            cx.wrong_type(node, "a list");
            return None;
        };
        Some(Deferred {
            len: items.len(),
            item: std::marker::PhantomData,
        })
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Deferred<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        Vec::<T>::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        Vec::<T>::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Vec::<T>::json_schema(generator)
    }

    fn inline_schema() -> bool {
        Vec::<T>::inline_schema()
    }
}

/// Decodes one item of a list. `null` is reported, never taken for an empty value.
pub fn item<T: Decode>(node: &Node, cx: &mut Cx) -> Option<T> {
    if matches!(node.value, Value::Null) {
        null_value(node, "a list item", cx);
        return None;
    }
    T::decode(node, cx)
}

fn null_value(node: &Node, what: &str, cx: &mut Cx) {
    cx.error(node.span, format!("{what} is `null`"))
        .hint = Some(
        "rollcall does not accept `null`: remove the key to leave it unmanaged, or write `[]` for none"
            .into(),
    );
}

/// Reads the entries of one mapping, remembering which keys were asked for so that the rest can
/// be reported as unknown, with a suggestion.
pub struct Fields<'n> {
    what: &'static str,
    span: Span,
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
    used: Vec<bool>,
    known: Vec<&'static str>,
}

impl<'n> Fields<'n> {
    /// Opens `node` as a mapping describing `what` ("a user", "the target", ...).
    pub fn open(node: &'n Node, what: &'static str, cx: &mut Cx) -> Option<Self> {
        let Value::Map(entries) = &node.value else {
            cx.wrong_type(node, &format!("a mapping ({what})"));
            return None;
        };
        let mut keyed = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            match &key.value {
                Value::Str(name) => keyed.push((name.as_str(), key, value)),
                _ => {
                    cx.error(
                        key.span,
                        format!("keys must be strings, found {}", key.value.kind()),
                    );
                }
            }
        }
        Some(Fields {
            what,
            span: node.span,
            used: vec![false; keyed.len()],
            entries: keyed,
            known: Vec::new(),
        })
    }

    /// Decodes the value of `key`, or `T::missing` when it is absent.
    pub fn get<T: Decode>(&mut self, key: &'static str, cx: &mut Cx) -> Option<T> {
        self.known.push(key);
        match self.entries.iter().position(|(name, _, _)| *name == key) {
            Some(i) => {
                self.used[i] = true;
                let value = self.entries[i].2;
                if matches!(value.value, Value::Null) {
                    null_value(value, &format!("`{key}`"), cx);
                    return None;
                }
                T::decode(value, cx)
            }
            None => T::missing(key, self.what, self.span, cx),
        }
    }

    /// Where `key` is written, if it is.
    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(name, _, _)| *name == key)
            .map(|(_, k, _)| k.span)
    }

    /// Reports every key that no `get` asked for.
    pub fn finish(self, cx: &mut Cx) {
        for (i, (name, key, _)) in self.entries.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let diagnostic = cx.error(key.span, format!("unknown key `{name}` in {}", self.what));
            match suggest(name, &self.known) {
                Some(best) => {
                    diagnostic.label = Some(format!("did you mean `{best}`?"));
                }
                None => {
                    diagnostic.hint =
                        Some(format!("the keys allowed here are {}", list(&self.known)));
                }
            }
        }
    }
}

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo.
pub fn suggest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let word = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word, c), *c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).max(1) || c.starts_with(&word))
        .min()
        .map(|(_, c)| c)
}

/// `a`, `b` and `c`
pub fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => format!("`{one}`"),
        [init @ .., last] => format!(
            "{} and `{last}`",
            init.iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Declares a mapping type of the file format: the struct, its JSON schema (through `schemars`)
/// and its [`Decode`] implementation, all from one field list.
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident as $what:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, schemars::JsonSchema)]
        #[schemars(deny_unknown_fields)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            /// The keys written in the file, with where their values are.
            #[allow(dead_code)]
            pub fn keys_present(&self) -> Vec<(&'static str, $crate::yaml::Span)> {
                let mut present = Vec::new();
                $(
                    if let Some(span) = $crate::desired::decode::Located::location(&self.$field) {
                        present.push((stringify!($field), span));
                    }
                )*
                present
            }
        }

        impl $crate::desired::decode::Decode for $name {
            fn decode(
                node: &$crate::yaml::Node,
                cx: &mut $crate::desired::decode::Cx,
            ) -> Option<Self> {
                let mut fields = $crate::desired::decode::Fields::open(node, $what, cx)?;
                $( let $field = fields.get::<$ty>(stringify!($field), cx); )*
                fields.finish(cx);
                Some($name { $( $field: $field?, )* })
            }
        }
    };
}
pub(crate) use record;

/// Reads and describes the closed sets of names declared in [`crate::model::vocab`]: their
/// schema and their decoder, with "did you mean" for near misses.
macro_rules! keyword_format {
    ($($name:ident),+ $(,)?) => {$(
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                schemars::json_schema!({
                    "type": "string",
                    "enum": names,
                })
            }
        }

        impl $crate::desired::decode::Decode for $name {
            fn decode(
                node: &$crate::yaml::Node,
                cx: &mut $crate::desired::decode::Cx,
            ) -> Option<Self> {
                let text = <String as $crate::desired::decode::Decode>::decode(node, cx)?;
                if let Some(value) = Self::parse(&text) {
                    return Some(value);
                }
                let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                let diagnostic =
                    cx.error(node.span, format!("`{text}` is not a valid {}", $name::WHAT));
                match $crate::desired::decode::suggest(&text, &names) {
                    Some(best) => diagnostic.label = Some(format!("did you mean `{best}`?")),
                    None => {
                        diagnostic.hint = Some(format!(
                            "use one of {}",
                            $crate::desired::decode::list(&names)
                        ))
                    }
                }
                None
            }
        }
    )+};
}
pub(crate) use keyword_format;
