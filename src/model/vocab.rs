//! The vocabulary every layer shares: providers, states and policies, and the checked value
//! types a file's text becomes (emails, language tags, dates, URLs, secrets).
//!
//! These are plain data with the rules of their own shape; how they are read from YAML and
//! described in the JSON schema lives with the file format, in [`crate::desired::format`].

use std::fmt;

/// Declares a closed set of names: the enum, its spellings, and what it is called in messages.
macro_rules! keyword {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// What a value of this kind is called in messages.
            pub const WHAT: &'static str = $what;

            /// The spelling used in files.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// The value spelled `text`, if any.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword! {
    /// The APIs rollcall speaks.
    pub enum Provider as "provider" {
        /// Piwik PRO Users API v2.
        PiwikPro = "piwik-pro",
        /// Publica.la integration API v1.
        PublicaLa = "publica-la",
        /// BEdita 5 JSON:API.
        Bedita = "bedita",
    }
}

keyword! {
    /// Whether a user should have a working account.
    pub enum State as "state" {
        Active = "active",
        Deactivated = "deactivated",
        Absent = "absent",
    }
}

keyword! {
    /// What happens to live users that no file mentions.
    pub enum Unmanaged as "`unmanaged` policy" {
        Ignore = "ignore",
        Report = "report",
        Deactivate = "deactivate",
        Delete = "delete",
    }
}

keyword! {
    /// What happens to live roles that no file declares.
    pub enum UnmanagedRoles as "`unmanaged_roles` policy" {
        Ignore = "ignore",
        Delete = "delete",
    }
}

keyword! {
    /// What happens to live user groups that no file lists (Piwik PRO).
    pub enum UnmanagedGroups as "`unmanaged_groups` policy" {
        Ignore = "ignore",
        Delete = "delete",
    }
}

keyword! {
    /// What happens to the permissions a file's users and groups hold on apps and meta sites
    /// the files do not name for them (Piwik PRO).
    pub enum UnmanagedPermissions as "`unmanaged_permissions` policy" {
        Ignore = "ignore",
        Revoke = "revoke",
    }
}

/// Where the account lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetUrl {
    /// The built-in simulator.
    Sandbox,
    /// An `https://` URL, or `http://` on a loopback address. No trailing slash.
    Http(String),
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetUrl::Sandbox => f.write_str("sandbox"),
            TargetUrl::Http(url) => f.write_str(url),
        }
    }
}

/// Parses a target's base URL and checks it is safe to send credentials to: `https`, or plain
/// `http` only to a loopback address (`localhost`, `127.0.0.0/8`, `::1`); no `user:pass@`, query
/// or fragment. Every check reads the parsed URL, never the text, so a host such as
/// `127.0.0.1.example.com` or `example.com\@127.0.0.1` is seen for what it is. The loader runs
/// it on the files, and the HTTP client again before it connects.
pub fn parse_target_url(text: &str) -> Result<reqwest::Url, &'static str> {
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("is not a URL");
    }
    let url = reqwest::Url::parse(text).map_err(|_| "is not a URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "holds a user name or password (`user:pass@`); credentials belong under `credentials`",
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("has a query or fragment; write only the account's base address");
    }
    let loopback = match url.host() {
        None => return Err("is not a URL"),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => {
            Err("uses plain `http` to a remote host, which would send credentials unencrypted")
        }
        _ => Err("is not an `https://` URL"),
    }
}

/// A secret, read from the environment. Its value never reaches output, logs or files.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret that did not come from a file (such as the sandbox's own credentials).
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::remember(&value);
        Secret(value)
    }

    /// The value, for the one place that needs it: the request that authenticates.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive value)")
    }
}

/// A credential or password: exactly one `${ENV_VAR}` reference, resolved at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRef {
    /// The variable's name, safe to show.
    pub var: String,
    pub value: Secret,
}

/// A `protect` pattern: an email or username, with `*` for any run of characters and `?` for one.
/// Matching ignores case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(pub String);

/// An email address as written (trimmed); compare with [`Email::key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks the shape of an address: one `@`, a non-empty local part, a dotted domain.
    pub fn parse(text: &str) -> Result<Email, &'static str> {
        let text = text.trim();
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err("has no `@`");
        };
        if local.is_empty() || local.len() > 64 {
            return Err("has an empty or over-long part before the `@`");
        }
        if local.contains('@') || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains spaces or a second `@`");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err("has a misplaced dot before the `@`");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) || domain.len() > 253 {
            return Err("does not have a valid domain after the `@`");
        }
        Ok(Email(text.to_string()))
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for matching: lower-cased.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A well-formed IETF language tag: `language[-Script][-REGION]`, stored in canonical case.
///
/// Held in place, without an allocation: the longest tag [`LanguageTag::parse`] takes is twelve
/// bytes (`yue-Hant-419`), and a large file gives most of its users one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LanguageTag {
    /// The tag's ASCII bytes, then zeros: compared as arrays they order as the text does.
    bytes: [u8; LanguageTag::MAX_LEN],
    len: u8,
}

impl LanguageTag {
    const MAX_LEN: usize = 12;

    /// Parses `en`, `en-US`, `zh-Hant-TW`, `es-419`, in any case.
    pub fn parse(text: &str) -> Option<LanguageTag> {
        let mut parts = text.trim().split(['-', '_']);
        let language = parts.next()?;
        if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic())
        {
            return None;
        }
        let mut tag = language.to_ascii_lowercase();
        let mut seen_region = false;
        let mut seen_script = false;
        for part in parts {
            let alpha = part.chars().all(|c| c.is_ascii_alphabetic());
            let digits = part.chars().all(|c| c.is_ascii_digit());
            if part.len() == 4 && alpha && !seen_script && !seen_region {
                seen_script = true;
                tag.push('-');
                tag.push_str(&part[..1].to_ascii_uppercase());
                tag.push_str(&part[1..].to_ascii_lowercase());
            } else if ((part.len() == 2 && alpha) || (part.len() == 3 && digits)) && !seen_region {
                seen_region = true;
                tag.push('-');
                tag.push_str(&part.to_ascii_uppercase());
            } else {
                return None;
            }
        }
        let mut bytes = [0; Self::MAX_LEN];
        bytes.get_mut(..tag.len())?.copy_from_slice(tag.as_bytes());
        Some(LanguageTag {
            bytes,
            len: u8::try_from(tag.len()).ok()?,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The primary language subtag: `en` of `en-US`.
    pub fn primary(&self) -> &str {
        let tag = self.as_str();
        tag.split('-').next().unwrap_or(tag)
    }

    /// The region subtag: `US` of `en-US`.
    pub fn region(&self) -> Option<&str> {
        self.as_str().split('-').skip(1).find(|p| p.len() != 4)
    }
}

impl fmt::Debug for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let year: u16 = text.get(0..4)?.parse().ok()?;
        let month: u8 = text.get(5..7)?.parse().ok()?;
        let day: u8 = text.get(8..10)?.parse().ok()?;
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (year >= 1970 && (1..=days).contains(&day)).then_some(Date { year, month, day })
    }
}

/// A Unix time in UTC as `(year, month, day, seconds into the day)`, by H. Hinnant's method
/// for civil dates from days since 1970-01-01.
pub fn civil(unix: u64) -> (i64, u32, u32, u32) {
    let days = i64::try_from(unix / 86_400).unwrap_or(0);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Each part is in range by construction.
    let small = |n: i64| u32::try_from(n).unwrap_or(0);
    (year, small(month), small(day), (unix % 86_400) as u32)
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Publica.la's `external_id`: text, though a plain number is accepted as its digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExternalId(pub String);

/// The most users one run may remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxRemovals {
    Count(u32),
    /// A whole percentage of the live users, 0 to 100.
    Percent(u8),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ada@Acme.org ").unwrap().as_str(),
            "Ada@Acme.org"
        );
        assert_eq!(Email::parse("Ada@Acme.org").unwrap().key(), "ada@acme.org");
        for bad in [
            "ada",
            "ada@",
            "@acme.org",
            "ada@acme",
            "a b@acme.org",
            "ada@@acme.org",
            "ada@acme..org",
            "ada.@acme.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn language_tags_are_canonicalised() {
        let tag = LanguageTag::parse("en-us").unwrap();
        assert_eq!(tag.as_str(), "en-US");
        assert_eq!((tag.primary(), tag.region()), ("en", Some("US")));
        assert_eq!(
            LanguageTag::parse("zh_hant_tw").unwrap().as_str(),
            "zh-Hant-TW"
        );
        assert_eq!(LanguageTag::parse("es-419").unwrap().as_str(), "es-419");
        assert_eq!(LanguageTag::parse("de").unwrap().region(), None);
        for bad in ["", "english", "e", "en-", "en-USA1", "en-US-GB", "12"] {
            assert!(LanguageTag::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(Date::parse("2028-02-29").unwrap().to_string(), "2028-02-29");
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "2027-1-1",
            "27-01-01",
            "2027-00-10",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
    }
}
