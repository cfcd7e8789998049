//! Checks that need the whole set of files: one target, the provider's capabilities, references
//! to roles and plans, and users declared twice. Turns decoded files into a [`DesiredState`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use super::decode::{Spanned, list, suggest};
use super::format::{CredentialsDoc, DefaultsDoc, FileDoc, PolicyDoc, TargetDoc, UserDoc};
use crate::diagnostic::{Diagnostic, Origin, SourceId};
use crate::model::capabilities::{Capabilities, ISO_3166_ALPHA2, Roles};
use crate::model::vocab::State;
use crate::model::{Credentials, DesiredRole, DesiredState, DesiredUser, Details, Policy, Target};
use crate::yaml::Span;

mod access;
mod fields;
mod references;
mod target;
mod user;

use fields::*;
use references::*;
use target::*;
use user::*;

/// Collects diagnostics for one validation pass.
struct Checker {
    diagnostics: Vec<Diagnostic>,
}

impl Checker {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn error(&mut self, origin: Origin, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::at(origin, message));
        self.diagnostics.last_mut().expect("just pushed")
    }
}

fn at(source: SourceId, span: Span) -> Origin {
    Origin { source, span }
}

/// Validates decoded files as one set and builds the desired state, in three steps: [`Self::new`]
/// checks everything but the users, [`Self::user`] takes the users one at a time (so a caller can
/// decode each just before and drop it just after), and [`Self::finish`] gives the state.
pub struct Resolver<'f> {
    checker: Checker,
    target: (SourceId, &'f TargetDoc),
    caps: &'static Capabilities,
    credentials: Option<Credentials>,
    policy: Option<Option<Policy>>,
    defaults: Option<&'f DefaultsDoc>,
    default_roles: Option<BTreeSet<String>>,
    roles: BTreeMap<String, DesiredRole>,
    plans: BTreeMap<String, Origin>,
    groups: Vec<crate::model::access::DesiredGroup>,
    files: usize,
    users: Vec<DesiredUser>,
    /// Where each key was first declared, to report the second.
    seen: Seen,
    /// Where each email was first declared, where emails are not the key.
    seen_emails: HashMap<String, Origin>,
}

/// The keys declared so far, and where. An entry points at its user in `users` (or, for a user
/// that failed its checks, at its key in `unkept`) instead of holding a copy of the key: a set of
/// a hundred thousand users would otherwise hold every key twice.
#[derive(Default)]
struct Seen {
    /// Where each key is held, and the span of its identity field in that user's file.
    table: HashTable<(Slot, Span)>,
    /// Keys of users that failed their checks, and their files.
    unkept: Vec<(String, SourceId)>,
    hasher: RandomState,
}

/// Where a declared key is held: `users[i]`, or with [`Slot::UNKEPT`] set, `unkept[i]`.
#[derive(Clone, Copy)]
struct Slot(u32);

impl Slot {
    const UNKEPT: u32 = 1 << 31;

    /// The slot of place `at` in `users`, or in `unkept`; `None` past two billion users.
    fn new(at: usize, kept: bool) -> Option<Slot> {
        let at = u32::try_from(at).ok().filter(|&i| i < Self::UNKEPT)?;
        Some(Slot(if kept { at } else { at | Self::UNKEPT }))
    }
}

impl Seen {
    /// The key held at `slot`, and the file it is declared in.
    fn held<'a>(
        unkept: &'a [(String, SourceId)],
        users: &'a [DesiredUser],
        slot: Slot,
    ) -> (&'a str, SourceId) {
        let at = (slot.0 & !Slot::UNKEPT) as usize;
        if slot.0 & Slot::UNKEPT == 0 {
            (&users[at].key, users[at].origin.source)
        } else {
            (&unkept[at].0, unkept[at].1)
        }
    }

    /// Where `key` was first declared.
    fn first(&self, users: &[DesiredUser], key: &str) -> Option<Origin> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&(slot, _)| {
                Self::held(&self.unkept, users, slot).0 == key
            })
            .map(|&(slot, span)| at(Self::held(&self.unkept, users, slot).1, span))
    }

    /// The state of the user declared under `key`: `Active` for one that failed its checks (its
    /// problems are reported already), `None` for a key no file declares.
    fn state(&self, users: &[DesiredUser], key: &str) -> Option<State> {
        let hash = self.hasher.hash_one(key);
        let &(slot, _) = self.table.find(hash, |&(slot, _)| {
            Self::held(&self.unkept, users, slot).0 == key
        })?;
        Some(match slot.0 & Slot::UNKEPT {
            0 => users[slot.0 as usize].state,
            _ => State::Active,
        })
    }

    /// Records that the key held at `slot` was declared at `span` of its file.
    fn insert(&mut self, users: &[DesiredUser], slot: Slot, span: Span) {
        let Seen {
            table,
            unkept,
            hasher,
        } = self;
        let hash = hasher.hash_one(Self::held(unkept, users, slot).0);
        table.insert_unique(hash, (slot, span), |&(slot, _)| {
            hasher.hash_one(Self::held(unkept, users, slot).0)
        });
    }
}

impl<'f> Resolver<'f> {
    /// Checks the sections other than `users`. Without a target nothing can be checked
    /// further: the problems are appended to `diagnostics` and there is no resolver.
    ///
    /// `complete` says every file of the set decoded; when one did not, a section it may have
    /// held (such as `target`) is not reported missing.
    pub fn new(
        files: &'f [(SourceId, FileDoc)],
        complete: bool,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Self> {
        let mut checker = Checker {
            diagnostics: Vec::new(),
        };
        let target = single(&mut checker, files, "target", |f| f.target.as_ref());
        let policy = single(&mut checker, files, "policy", |f| f.policy.as_ref());
        let defaults = single(&mut checker, files, "defaults", |f| f.defaults.as_ref());
        let Some((target_source, target)) = target else {
            if let Some((source, _)) = files.first()
                && complete
                && !checker
                    .diagnostics
                    .iter()
                    .any(|d| d.message.contains("`target`"))
            {
                checker.diagnostics.push(
                    Diagnostic::new(*source, None, "no file declares a `target`")
                        .hint("add a `target:` with `provider` and `url` to one of the files"),
                );
            }
            diagnostics.append(&mut checker.diagnostics);
            return None;
        };
        let caps = target.provider.value.capabilities();

        let credentials = check_credentials(&mut checker, target_source, target, caps);
        let policy = policy.map(|(source, p)| check_policy(&mut checker, source, p, caps));
        if let Some((source, defaults)) = defaults {
            check_defaults(&mut checker, source, defaults, caps);
        }
        let roles = collect_roles(&mut checker, files, caps);
        let plans = collect_plans(&mut checker, files, caps);
        let groups = access::collect_groups(&mut checker, files, caps);
        let default_roles = defaults.and_then(|(source, d)| {
            check_references(
                &mut checker,
                source,
                d.roles.as_ref(),
                d.plan.as_ref(),
                caps,
                &roles,
                &plans,
            )
            .filter(|_| d.roles.is_some())
        });
        let expected = files
            .iter()
            .filter_map(|(_, f)| f.users.as_ref())
            .map(|u| u.value.len)
            .sum();
        Some(Resolver {
            checker,
            target: (target_source, target),
            caps,
            credentials,
            policy,
            defaults: defaults.map(|d| d.1),
            default_roles,
            roles,
            plans,
            groups,
            files: files.len(),
            users: Vec::with_capacity(expected),
            seen: Seen {
                table: HashTable::with_capacity(expected),
                ..Seen::default()
            },
            seen_emails: HashMap::new(),
        })
    }

    /// Checks one user of the file `source` and, when it is sound, keeps it.
    pub fn user(&mut self, source: SourceId, user: &Spanned<UserDoc>) {
        let (caps, checker) = (self.caps, &mut self.checker);
        let origin = at(source, user.span);
        let key = user_key(user, caps);
        let ident = identity_span(user, caps).map(|span| at(source, span));
        let first = key
            .as_deref()
            .and_then(|key| self.seen.first(&self.users, key));
        if let (Some(key), Some(ident), Some(first)) = (&key, ident, first) {
            let hint = match caps.identity {
                "email" => "keep one entry; emails match after trimming and lower-casing".into(),
                _ => format!("keep one entry for each `{}`", caps.identity),
            };
            checker.push(
                Diagnostic::at(
                    ident,
                    format!("{} `{key}` is declared twice", caps.identity),
                )
                .related(first, "first declared here")
                .hint(hint),
            );
        }
        // Current and former emails alike name one person each.
        let formers = user.former_emails.iter().flat_map(|list| &list.value);
        for email in user.email.iter().chain(formers) {
            if caps.identity == "email" {
                break;
            }
            let here = at(source, email.span);
            if let Some(first) = self.seen_emails.get(&email.value.key()) {
                checker.push(
                    Diagnostic::at(
                        here,
                        format!("email `{}` belongs to two users", email.value.as_str()),
                    )
                    .related(*first, "also used here")
                    .hint(format!(
                        "{} requires every email to be unique, and a former email names the one person who had it",
                        caps.name
                    )),
                );
            } else {
                self.seen_emails.insert(email.value.key(), here);
            }
        }
        let scope = Scope {
            caps,
            defaults: self.defaults,
            default_roles: self.default_roles.as_ref(),
            roles: &self.roles,
            plans: &self.plans,
        };
        let record = key.is_some() && first.is_none();
        let slot = match check_user(checker, origin, user, key, &scope) {
            Some(desired) => {
                self.users.push(desired);
                Slot::new(self.users.len() - 1, true)
            }
            None => match user_key(user, caps) {
                Some(key) if record => {
                    self.seen.unkept.push((key, source));
                    Slot::new(self.seen.unkept.len() - 1, false)
                }
                _ => return,
            },
        };
        if let (true, Some(slot), Some(ident)) = (record, slot, ident) {
            self.seen.insert(&self.users, slot, ident.span);
        }
    }

    /// The desired state, when neither these checks nor `diagnostics` found a problem; otherwise
    /// the problems found here are appended to `diagnostics`.
    pub fn finish(mut self, diagnostics: &mut Vec<Diagnostic>) -> Option<DesiredState> {
        let (seen, users) = (&self.seen, &self.users);
        access::check_members(&mut self.checker, &self.groups, |key| {
            seen.state(users, key)
        });
        if !self.checker.diagnostics.is_empty() || !diagnostics.is_empty() {
            diagnostics.append(&mut self.checker.diagnostics);
            return None;
        }
        let (target_source, target) = self.target;
        let mut users = self.users;
        // Keys are unique here, so an unstable sort is as deterministic, and needs no buffer.
        users.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Some(DesiredState {
            target: Target {
                provider: target.provider.value,
                url: target.url.value.clone(),
                credentials: self.credentials?,
                origin: at(target_source, target.provider.span),
            },
            policy: self.policy.flatten().unwrap_or_default(),
            users,
            roles: self.roles.into_values().collect(),
            plans: self.plans.into_keys().collect(),
            files: self.files,
            digests: Vec::new(),
            paths: Vec::new(),
            groups: self.groups,
        })
    }
}

/// The one declaration of a section that may appear in only one file.
fn single<'f, T>(
    checker: &mut Checker,
    files: &'f [(SourceId, FileDoc)],
    key: &str,
    get: impl Fn(&'f FileDoc) -> Option<&'f Spanned<T>>,
) -> Option<(SourceId, &'f T)> {
    let mut first: Option<(SourceId, &'f Spanned<T>)> = None;
    for (source, file) in files {
        let Some(section) = get(file) else { continue };
        match first {
            None => first = Some((*source, section)),
            Some((first_source, first_section)) => {
                checker
                    .error(
                        at(*source, section.span),
                        format!("a second `{key}` is declared"),
                    )
                    .related = Some((
                    at(first_source, first_section.span),
                    "first declared here".into(),
                ));
                checker.diagnostics.last_mut().expect("just pushed").hint = Some(format!(
                    "one set of files describes one account: keep `{key}` in one file"
                ));
            }
        }
    }
    first.map(|(source, section)| (source, &section.value))
}

/// The variables a target's credentials are read from.
pub fn credential_vars(doc: &CredentialsDoc) -> Vec<String> {
    target::resolved_credentials(doc)
        .vars()
        .map(str::to_string)
        .collect()
}
