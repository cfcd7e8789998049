//! Checks that need the whole set of files: one target, the provider's capabilities, references
//! to roles and plans, and users declared twice. Turns decoded files into a [`DesiredState`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::decode::{Spanned, list, suggest};
use super::format::{CredentialsDoc, DefaultsDoc, FileDoc, PolicyDoc, TargetDoc, UserDoc};
use crate::diagnostic::{Diagnostic, Origin, SourceId};
use crate::model::capabilities::{Capabilities, ISO_3166_ALPHA2, Roles};
use crate::model::vocab::State;
use crate::model::{Credentials, DesiredRole, DesiredState, DesiredUser, Policy, Target};
use crate::yaml::Span;

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

/// Validates decoded files as one set and builds the desired state. Problems are appended to
/// `diagnostics`; the state is returned only when there are none.
///
/// `complete` says every file of the set decoded; when one did not, a section it may have held
/// (such as `target`) is not reported missing.
///
/// The users are taken out of `files` and each is dropped once converted, so a large set never
/// holds both forms of every user at once.
pub fn resolve(
    files: &mut [(SourceId, FileDoc)],
    complete: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<DesiredState> {
    let user_lists: Vec<(SourceId, Vec<Spanned<UserDoc>>)> = files
        .iter_mut()
        .map(|(source, file)| {
            (
                *source,
                file.users.take().map(|u| u.value).unwrap_or_default(),
            )
        })
        .collect();
    let files = &*files;
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
    let provider = target.provider.value;
    let caps = provider.capabilities();

    let credentials = check_credentials(&mut checker, target_source, target, caps);
    let policy = policy.map(|(source, p)| check_policy(&mut checker, source, p, caps));
    if let Some((source, defaults)) = defaults {
        check_defaults(&mut checker, source, defaults, caps);
    }
    let roles = collect_roles(&mut checker, files, caps);
    let plans = collect_plans(&mut checker, files, caps);
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
    let scope = Scope {
        caps,
        defaults: defaults.map(|d| d.1),
        default_roles,
        roles: &roles,
        plans: &plans,
    };

    let mut users = Vec::with_capacity(user_lists.iter().map(|(_, list)| list.len()).sum());
    let mut seen: HashMap<String, Origin> = HashMap::new();
    let mut seen_emails: HashMap<String, Origin> = HashMap::new();
    for (source, list) in user_lists {
        let source = &source;
        for user in list {
            let user = &user;
            let origin = at(*source, user.span);
            let key = user_key(user, caps);
            if let (Some(key), Some(span)) = (&key, identity_span(user, caps)) {
                let ident = at(*source, span);
                if let Some(first) = seen.get(key) {
                    let hint = match caps.identity {
                        "email" => {
                            "keep one entry; emails match after trimming and lower-casing".into()
                        }
                        _ => format!("keep one entry for each `{}`", caps.identity),
                    };
                    checker.push(
                        Diagnostic::at(
                            ident,
                            format!("{} `{key}` is declared twice", caps.identity),
                        )
                        .related(*first, "first declared here")
                        .hint(hint),
                    );
                } else {
                    seen.insert(key.clone(), ident);
                }
            }
            // Current and former emails alike name one person each.
            let formers = user.former_emails.iter().flat_map(|list| &list.value);
            for email in user.email.iter().chain(formers) {
                if caps.identity == "email" {
                    break;
                }
                let here = at(*source, email.span);
                if let Some(first) = seen_emails.get(&email.value.key()) {
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
                    seen_emails.insert(email.value.key(), here);
                }
            }
            if let Some(desired) = check_user(&mut checker, origin, user, key, &scope) {
                users.push(desired);
            }
        }
    }

    if !checker.diagnostics.is_empty() || !diagnostics.is_empty() {
        diagnostics.append(&mut checker.diagnostics);
        return None;
    }
    users.sort_by(|a, b| a.key.cmp(&b.key));
    Some(DesiredState {
        target: Target {
            provider,
            url: target.url.value.clone(),
            credentials: credentials?,
            origin: at(target_source, target.provider.span),
        },
        policy: policy.flatten().unwrap_or_default(),
        users,
        roles: roles.into_values().collect(),
        plans: plans.into_keys().collect(),
        files: files.len(),
        digests: Vec::new(),
    })
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
