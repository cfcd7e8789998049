//! Small sorted collections for what each live user holds.
//!
//! An account may list a hundred thousand users, each with one or two attributes and a role or
//! two. A `BTreeMap` or `BTreeSet` allocates a node sized for eleven entries for each of them,
//! which made the live users several times larger than their data. These keep the same order and
//! lookups in a vector of exactly the entries there are.

use std::fmt;

/// Scalar attributes as text, named as in the files (`language`, `admin`, ...), in name order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attributes(Vec<(&'static str, String)>);

impl Attributes {
    pub fn get(&self, name: &str) -> Option<&String> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// Sets `name`, returning the value it replaces.
    pub fn insert(&mut self, name: &'static str, value: String) -> Option<String> {
        match self.find(name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &String)> {
        self.0.iter().map(|(name, value)| (*name, value))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| (*n).cmp(name))
    }
}

impl FromIterator<(&'static str, String)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (&'static str, String)>>(iter: I) -> Self {
        let mut entries: Vec<_> = iter.into_iter().collect();
        // The last value given for a name wins, as in a map.
        entries.reverse();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries.dedup_by(|later, first| later.0 == first.0);
        entries.shrink_to_fit();
        Attributes(entries)
    }
}

impl<const N: usize> From<[(&'static str, String); N]> for Attributes {
    fn from(entries: [(&'static str, String); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = (&'static str, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (&'static str, String)>,
        fn(&'a (&'static str, String)) -> (&'static str, &'a String),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(name, value)| (*name, value))
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A set of names (roles), sorted and without repeats.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Names(Vec<String>);

impl Names {
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Adds `name`; false when it was already there.
    pub fn insert(&mut self, name: String) -> bool {
        match self.find(&name) {
            Ok(_) => false,
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, name);
                true
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> bool {
        match self.find(name) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|n| n.as_str().cmp(name))
    }
}

impl FromIterator<String> for Names {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        let mut names: Vec<String> = iter.into_iter().collect();
        names.sort_unstable();
        names.dedup();
        names.shrink_to_fit();
        Names(names)
    }
}

impl<const N: usize> From<[String; N]> for Names {
    fn from(names: [String; N]) -> Self {
        names.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Names {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Names {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Debug for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_keep_name_order_and_the_last_value() {
        let mut attributes: Attributes = [("language", "en".to_string()), ("admin", "true".into())]
            .into_iter()
            .chain([("language", "de".to_string())])
            .collect();
        assert_eq!(attributes.get("language").map(String::as_str), Some("de"));
        assert_eq!(attributes.insert("plan", "gold".into()), None);
        assert_eq!(
            attributes.insert("admin", "false".into()),
            Some("true".into())
        );
        let names: Vec<_> = attributes.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(names, ["admin=false", "language=de", "plan=gold"]);
        assert_eq!(attributes.remove("admin"), Some("false".into()));
        assert_eq!(attributes.get("admin"), None);
    }

    #[test]
    fn names_are_a_sorted_set() {
        let mut names: Names = ["b".to_string(), "a".into(), "b".into()]
            .into_iter()
            .collect();
        assert!(names.insert("c".into()));
        assert!(!names.insert("a".into()));
        assert!(names.contains("b") && !names.contains("d"));
        assert!(names.remove("b"));
        assert_eq!(names.iter().collect::<Vec<_>>(), ["a", "c"]);
    }
}
