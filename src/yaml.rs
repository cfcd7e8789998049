//! The one place that knows which YAML crate rollcall uses.
//!
//! A document is read into a small tree of [`Node`]s, each carrying the [`Span`] of the text it came
//! from. The desired-state decoder walks that tree so it can report every problem in a file with a
//! precise location, instead of stopping at the first type error the way a derived deserializer
//! would. The YAML reader runs under tight budgets, so hostile input (deep nesting, alias bombs,
//! huge documents) fails fast with an error instead of exhausting the machine.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, DuplicateKeyPolicy, Spanned};

/// Nesting deeper than this is refused; a desired-state file needs about five levels.
pub const MAX_DEPTH: usize = 32;
/// The reader recurses once per nesting level, with large frames in unoptimised builds, so it runs
/// on a thread of its own with this much stack, whatever thread the caller is on.
const READER_STACK_BYTES: usize = 64 << 20;
/// The most nodes one document may hold (enough for several hundred thousand users).
pub const MAX_NODES: usize = 3_000_000;
/// The most alias references one document may hold.
pub const MAX_ALIASES: usize = 1_000;
/// The most events alias expansion may replay across a document (the alias-bomb fuse).
pub const MAX_REPLAYED_EVENTS: usize = 100_000;

/// Where a node sits in its source text: 1-based line and column, plus the byte range. Files are
/// far smaller than 4 GiB, so 32 bits each keep the many spans of a large file compact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub line: u32,
    pub column: u32,
    /// Byte offset of the first character, when known.
    pub offset: u32,
    /// Length in bytes; zero when unknown.
    pub len: u32,
}

impl Span {
    /// The byte range in the source text.
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = self.offset as usize;
        start..start + self.len as usize
    }

    fn from_location(location: serde_saphyr::Location) -> Self {
        let span = location.span();
        Span {
            line: u32::try_from(location.line()).unwrap_or(u32::MAX),
            column: u32::try_from(location.column()).unwrap_or(u32::MAX),
            offset: span
                .byte_offset()
                .and_then(|o| u32::try_from(o).ok())
                .unwrap_or(0),
            len: span
                .byte_len()
                .and_then(|l| u32::try_from(l).ok())
                .unwrap_or(0),
        }
    }
}

/// One YAML value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// The shape of a YAML value. Mapping entries keep their order and their keys' spans.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// A short noun for messages: "a string", "a list", ...
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A document could not be read as YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    /// Where the reader stopped, when it knows.
    pub span: Option<Span>,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Reads one YAML document. An empty document (nothing but comments) is `Ok(None)`.
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    on_reader_thread(|| parse_here(text))
}

/// The explicit tags a file may use: those of the YAML 1.2 core schema, which only say what the
/// plain reading says anyway. Any other (`!!binary`, `!!timestamp`, a local `!tag`) would make a
/// value mean something else than a reviewer reads, so it is refused.
const CORE_TAGS: &[&str] = &["str", "int", "float", "bool", "null", "seq", "map"];

/// Refuses what the value tree cannot show: a second document, and explicit tags outside the
/// core schema. Only text that could hold either is read a second time, as events.
fn check_events(text: &str) -> Result<(), SyntaxError> {
    if !text.contains('!') && !text.contains("---") && !text.contains("...") {
        return Ok(());
    }
    let at = |span: &granit_parser::Span| {
        let start = &span.start;
        Some(Span {
            line: u32::try_from(start.line()).unwrap_or(u32::MAX),
            column: u32::try_from(start.col() + 1).unwrap_or(u32::MAX),
            offset: u32::try_from(start.byte_offset()?).ok()?,
            len: 0,
        })
    };
    let mut documents = 0;
    for event in granit_parser::Parser::new_from_str(text) {
        // A syntax error is reported by the reader proper, with its own message.
        let Ok((event, span)) = event else {
            return Ok(());
        };
        let tag = match &event {
            granit_parser::Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        message: "the file holds more than one YAML document".into(),
                        span: at(&span),
                    });
                }
                None
            }
            granit_parser::Event::Scalar(_, _, _, tag)
            | granit_parser::Event::SequenceStart(_, _, tag)
            | granit_parser::Event::MappingStart(_, _, tag) => tag.as_deref(),
            _ => None,
        };
        if let Some(tag) = tag
            && !tag
                .core_suffix()
                .is_some_and(|suffix| CORE_TAGS.contains(&suffix))
        {
            return Err(SyntaxError {
                message: format!(
                    "the tag `{}{}` is not allowed",
                    tag.original_handle(),
                    tag.suffix()
                ),
                span: at(&span),
            });
        }
    }
    Ok(())
}

fn parse_here(text: &str) -> Result<Option<Node>, SyntaxError> {
    check_events(text)?;
    match serde_saphyr::from_str_with_options::<Option<Spanned<Value>>>(text, options()) {
        Ok(root) => Ok(root.map(node)),
        Err(err) => Err(syntax_error(&err)),
    }
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: Some(budget()),
        duplicate_keys: DuplicateKeyPolicy::Error,
        alias_limits: alias_limits(),
        // `external_id: 0012` keeps its zeros; the decoder sees the text it was given.
        leading_zero_numbers_as_strings: true,
        // Only the YAML 1.2 core schema; `yes`/`on` are strings, not booleans.
        strict_booleans: true,
        reject_unsupported_tags: true,
        with_snippet: false,
    }
}

/// Runs `read` on a thread of its own with [`READER_STACK_BYTES`] of stack.
fn on_reader_thread<T: Send>(
    read: impl FnOnce() -> Result<T, SyntaxError> + Send,
) -> Result<T, SyntaxError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("yaml-reader".into())
            .stack_size(READER_STACK_BYTES)
            .spawn_scoped(scope, read)
            .map_err(|err| SyntaxError {
                message: format!("cannot start the YAML reader: {err}"),
                span: None,
            })?
            .join()
            .unwrap_or_else(|_| {
                Err(SyntaxError {
                    message: "the YAML reader failed unexpectedly".into(),
                    span: None,
                })
            })
    })
}

/// A top-level list of a document that can be read one item at a time: [`parse_leaving_out`]
/// leaves its items out of the tree, and [`each_item`] reads them.
pub trait LongList {
    /// The top-level key the list is under.
    const KEY: &'static str;
}

/// Reads one YAML document as [`parse`] does, but with the list under the top-level key
/// `L::KEY` left empty; the number of items it holds comes beside the tree. The document is
/// checked whole all the same. A file of a hundred thousand users is then never held as one
/// tree: [`each_item`] reads them one at a time.
pub fn parse_leaving_out<L: LongList>(
    text: &str,
) -> Result<Option<(Node, Option<usize>)>, SyntaxError> {
    on_reader_thread(|| {
        check_events(text)?;
        match serde_saphyr::from_str_with_options::<Option<Spanned<Root<L>>>>(text, options()) {
            Ok(root) => Ok(root.map(|root| {
                let span = Span::from_location(root.referenced);
                let Root { value, items, .. } = root.value;
                (Node { value, span }, items)
            })),
            Err(err) => Err(syntax_error(&err)),
        }
    })
}

/// Reads the document again, handing each item of the list under the top-level key `L::KEY` to
/// `each`, in order, as a tree of its own that nothing else holds.
pub fn each_item<L: LongList>(
    text: &str,
    each: &mut (dyn FnMut(Node) + Send),
) -> Result<(), SyntaxError> {
    on_reader_thread(|| {
        serde_saphyr::with_deserializer_from_str_with_options(text, options(), |deserializer| {
            deserializer.deserialize_any(EachItem::<L> {
                each,
                list: std::marker::PhantomData,
            })
        })
        .map_err(|err| syntax_error(&err))
    })
}

/// A document whose list under `L::KEY` is read for its length only.
struct Root<L> {
    value: Value,
    items: Option<usize>,
    list: std::marker::PhantomData<L>,
}

/// The value under `L::KEY`: any value, but a list only counted.
struct Counted {
    value: Value,
    items: Option<usize>,
}

/// Visits as [`ValueVisitor`] does, but for the one kind of value given.
macro_rules! as_value_visitor {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            ValueVisitor.visit_bool(v).map($wrap)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            ValueVisitor.visit_i64(v).map($wrap)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            ValueVisitor.visit_u64(v).map($wrap)
        }
        fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
            ValueVisitor.visit_i128(v).map($wrap)
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
            ValueVisitor.visit_u128(v).map($wrap)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            ValueVisitor.visit_f64(v).map($wrap)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            ValueVisitor.visit_str(v).map($wrap)
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            ValueVisitor.visit_string(v).map($wrap)
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
            ValueVisitor.visit_bytes(v).map($wrap)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            ValueVisitor.visit_unit().map($wrap)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            ValueVisitor.visit_none().map($wrap)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            ValueVisitor.visit_some(d).map($wrap)
        }
    };
}

impl<'de, L: LongList> Deserialize<'de> for Root<L> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RootVisitor<L>(std::marker::PhantomData<L>);

        impl<'de, L: LongList> Visitor<'de> for RootVisitor<L> {
            type Value = Root<L>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }

            as_value_visitor!(|value| Root {
                value,
                items: None,
                list: std::marker::PhantomData
            });

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Root<L>, A::Error> {
                ValueVisitor.visit_seq(seq).map(|value| Root {
                    value,
                    items: None,
                    list: std::marker::PhantomData,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Root<L>, A::Error> {
                let mut entries = Vec::new();
                let mut items = None;
                while let Some(key) = map.next_key::<Spanned<Value>>()? {
                    let value = if matches!(&key.value, Value::Str(k) if k == L::KEY) {
                        let counted = map.next_value::<Spanned<Counted>>()?;
                        items = counted.value.items;
                        Node {
                            span: Span::from_location(counted.referenced),
                            value: counted.value.value,
                        }
                    } else {
                        node(map.next_value::<Spanned<Value>>()?)
                    };
                    entries.push((node(key), value));
                }
                entries.shrink_to_fit();
                Ok(Root {
                    value: Value::Map(entries),
                    items,
                    list: std::marker::PhantomData,
                })
            }
        }

        deserializer.deserialize_any(RootVisitor(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountedVisitor;

        impl<'de> Visitor<'de> for CountedVisitor {
            type Value = Counted;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }

            as_value_visitor!(|value| Counted { value, items: None });

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Counted, A::Error> {
                let mut items = 0;
                while seq.next_element::<de::IgnoredAny>()?.is_some() {
                    items += 1;
                }
                Ok(Counted {
                    value: Value::Seq(Vec::new()),
                    items: Some(items),
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Counted, A::Error> {
                ValueVisitor
                    .visit_map(map)
                    .map(|value| Counted { value, items: None })
            }
        }

        deserializer.deserialize_any(CountedVisitor)
    }
}

/// Visits a document for the items of its list under `L::KEY`, skipping everything else.
struct EachItem<'f, L> {
    each: &'f mut (dyn FnMut(Node) + Send),
    list: std::marker::PhantomData<L>,
}

impl<'de, L: LongList> Visitor<'de> for EachItem<'_, L> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a mapping with `{}`", L::KEY)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Value>()? {
            if matches!(&key, Value::Str(k) if k == L::KEY) {
                map.next_value_seed(Items {
                    each: &mut *self.each,
                })?;
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The list whose items are handed on, one at a time.
struct Items<'f> {
    each: &'f mut (dyn FnMut(Node) + Send),
}

impl<'de> de::DeserializeSeed<'de> for Items<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            (self.each)(node(item));
        }
        Ok(())
    }
}

fn budget() -> Budget {
    let mut budget = Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_events = MAX_NODES * 2;
    budget.max_aliases = MAX_ALIASES;
    budget.max_anchors = MAX_ALIASES;
    budget.max_recorded_anchor_events = MAX_REPLAYED_EVENTS;
    budget.max_documents = 1;
    budget
}

fn alias_limits() -> serde_saphyr::options::AliasLimits {
    let mut limits = serde_saphyr::options::AliasLimits::default();
    limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    limits.max_replay_stack_depth = 8;
    limits
}

fn syntax_error(err: &serde_saphyr::Error) -> SyntaxError {
    let span = err
        .location()
        .filter(|l| l.line() > 0)
        .map(Span::from_location);
    // The crate's own message may end with " at line X column Y"; the diagnostic prints the
    // location itself, so keep only the description.
    let mut message = err.to_string();
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    let mut message = message.trim().trim_end_matches('.').to_string();
    // The crate suggests one of its own options; a reader of the file can do nothing with that.
    if let Some(cut) = message.find(", set DuplicateKeyPolicy") {
        message.truncate(cut);
    }
    SyntaxError { message, span }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

fn node(spanned: Spanned<Value>) -> Node {
    Node {
        span: Span::from_location(spanned.referenced),
        value: spanned.value,
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        Err(E::custom("binary values are not supported"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            items.push(node(item));
        }
        items.shrink_to_fit();
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(key) = map.next_key::<Spanned<Value>>()? {
            let value = map.next_value::<Spanned<Value>>()?;
            entries.push((node(key), node(value)));
        }
        entries.shrink_to_fit();
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        parse(text).expect("valid YAML").expect("a document")
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let doc = root("version: 1\nusers:\n  - email: ada@acme.org\n");
        let Value::Map(entries) = doc.value else {
            panic!("a mapping")
        };
        let (key, users) = &entries[1];
        assert_eq!(key.value, Value::Str("users".into()));
        assert_eq!((key.span.line, key.span.column), (2, 1));
        let Value::Seq(items) = &users.value else {
            panic!("a list")
        };
        let Value::Map(user) = &items[0].value else {
            panic!("a mapping")
        };
        let (key, value) = &user[0];
        assert_eq!((key.span.line, key.span.column), (3, 5));
        assert_eq!((value.span.line, value.span.column), (3, 12));
        assert_eq!(value.span.len as usize, "ada@acme.org".len());
        let text = "version: 1\nusers:\n  - email: ada@acme.org\n";
        assert_eq!(&text[value.span.range()], "ada@acme.org");
    }

    struct Users;

    impl LongList for Users {
        const KEY: &'static str = "users";
    }

    #[test]
    fn a_long_list_is_left_out_then_read_one_item_at_a_time() {
        let text =
            "who: &who ada@acme.org\nusers:\n  - email: *who\n  - {email: bob@acme.org}\nlast: 1\n";
        let (root, items) = parse_leaving_out::<Users>(text)
            .expect("valid YAML")
            .expect("a document");
        assert_eq!(items, Some(2));
        let Value::Map(entries) = &root.value else {
            panic!("a mapping")
        };
        let keys: Vec<&Value> = entries.iter().map(|(k, _)| &k.value).collect();
        assert_eq!(
            keys,
            [
                &Value::Str("who".into()),
                &Value::Str("users".into()),
                &Value::Str("last".into())
            ]
        );
        assert_eq!(entries[1].1.value, Value::Seq(Vec::new()));
        assert_eq!((entries[1].1.span.line, entries[1].1.span.column), (3, 3));

        let mut seen = Vec::new();
        each_item::<Users>(text, &mut |item| seen.push(item)).expect("read again");
        let emails: Vec<(u32, &Value)> = seen
            .iter()
            .map(|item| {
                let Value::Map(entries) = &item.value else {
                    panic!("a mapping")
                };
                (entries[0].1.span.line, &entries[0].1.value)
            })
            .collect();
        assert_eq!(
            emails,
            [
                (3, &Value::Str("ada@acme.org".into())),
                (4, &Value::Str("bob@acme.org".into()))
            ]
        );
    }

    #[test]
    fn a_long_list_that_is_no_list_stays_in_the_tree() {
        let (root, items) = parse_leaving_out::<Users>("users: {a: 1}\n")
            .expect("valid YAML")
            .expect("a document");
        assert_eq!(items, None);
        let Value::Map(entries) = &root.value else {
            panic!("a mapping")
        };
        assert!(matches!(&entries[0].1.value, Value::Map(m) if m.len() == 1));
    }

    #[test]
    fn scalars_keep_their_yaml_types() {
        let doc = root("a: 1\nb: '1'\nc: true\nd: yes\ne: ~\nf: 0012\ng: 1.5\n");
        let Value::Map(entries) = doc.value else {
            panic!("a mapping")
        };
        let values: Vec<_> = entries.into_iter().map(|(_, v)| v.value).collect();
        assert_eq!(
            values,
            vec![
                Value::Int(1),
                Value::Str("1".into()),
                Value::Bool(true),
                Value::Str("yes".into()),
                Value::Null,
                Value::Str("0012".into()),
                Value::Float(1.5),
            ]
        );
    }

    #[test]
    fn empty_document_is_none() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }

    #[test]
    fn duplicate_keys_are_refused_with_a_position() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(err.message.to_lowercase().contains("duplicate"), "{err:?}");
        assert_eq!(err.span.map(|s| s.line), Some(3));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{}1{}", "[".repeat(20_000), "]".repeat(20_000));
        assert!(parse(&deep).is_err());
        let block: String = (0..20_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        assert!(parse(&block).is_err());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let prev = (b'a' + level - 1) as char;
            let this = (b'a' + level) as char;
            bomb.push_str(&format!(
                "{this}: &{this} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        assert!(parse(&bomb).is_err());
    }
}
