//! Checks that need the whole set of files: one target, the provider's capabilities, references
//! to roles and plans, and users declared twice. Turns decoded files into a [`DesiredState`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::decode::{Spanned, list, suggest};
use super::format::{CredentialsDoc, DefaultsDoc, FileDoc, PolicyDoc, TargetDoc, UserDoc};
use crate::diagnostic::{Diagnostic, Origin, SourceId};
use crate::model::capabilities::{Capabilities, ISO_3166_ALPHA2, Roles};
use crate::model::vocab::{Provider, State};
use crate::model::{Credentials, DesiredRole, DesiredState, DesiredUser, Policy, Target};
use crate::yaml::Span;

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
        provider,
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
            let key = user_key(user, provider);
            if let (Some(key), Some(span)) = (&key, identity_span(user, caps)) {
                let ident = at(*source, span);
                if let Some(first) = seen.get(key) {
                    let hint = match provider {
                        Provider::PiwikPro => {
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
            if provider != Provider::PiwikPro
                && let Some(email) = &user.email
            {
                let here = at(*source, email.span);
                if let Some(first) = seen_emails.get(&email.value.key()) {
                    checker.push(
                        Diagnostic::at(
                            here,
                            format!("email `{}` belongs to two users", email.value.as_str()),
                        )
                        .related(*first, "also used here")
                        .hint(format!("{} requires every email to be unique", caps.name)),
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

fn check_credentials(
    checker: &mut Checker,
    source: SourceId,
    target: &TargetDoc,
    caps: &Capabilities,
) -> Option<Credentials> {
    use crate::model::vocab::TargetUrl;
    let expected = caps
        .credentials
        .iter()
        .map(|set| list(set))
        .collect::<Vec<_>>()
        .join(", or ");
    let Some(creds) = &target.credentials else {
        if target.url.value == TargetUrl::Sandbox {
            return Some(Credentials::default());
        }
        checker
            .error(
                at(source, target.url.span),
                format!(
                    "the target has no `credentials`; {} needs {expected}",
                    caps.name
                ),
            )
            .hint = Some("add `credentials:` with each value a `${ENV_VAR}` reference".into());
        return None;
    };
    let present = creds.value.keys_present();
    let names: BTreeSet<&str> = present.iter().map(|(k, _)| *k).collect();
    let all: BTreeSet<&str> = caps
        .credentials
        .iter()
        .flat_map(|s| s.iter().copied())
        .collect();
    let mut ok = true;
    for (key, span) in &present {
        if !all.contains(key) {
            ok = false;
            checker
                .error(
                    at(source, *span),
                    format!("`{key}` is not a {} credential", caps.name),
                )
                .hint = Some(format!("{} uses {expected}", caps.name));
        }
    }
    let matches = caps
        .credentials
        .iter()
        .any(|set| set.iter().copied().collect::<BTreeSet<_>>() == names);
    if ok && !matches && target.url.value != TargetUrl::Sandbox {
        let closest = caps
            .credentials
            .iter()
            .min_by_key(|set| set.iter().filter(|k| !names.contains(*k)).count())
            .copied()
            .unwrap_or(&[]);
        let missing: Vec<&str> = closest
            .iter()
            .copied()
            .filter(|k| !names.contains(k))
            .collect();
        checker
            .error(
                at(source, creds.span),
                format!("the credentials are missing {}", list(&missing)),
            )
            .hint = Some(format!("{} needs {expected}", caps.name));
        ok = false;
    }
    ok.then(|| resolved_credentials(&creds.value))
}

fn resolved_credentials(doc: &CredentialsDoc) -> Credentials {
    let take =
        |s: &Option<Spanned<crate::model::vocab::SecretRef>>| s.as_ref().map(|s| s.value.clone());
    Credentials {
        client_id: take(&doc.client_id),
        client_secret: take(&doc.client_secret),
        api_token: take(&doc.api_token),
        api_key: take(&doc.api_key),
        username: take(&doc.username),
        password: take(&doc.password),
    }
}

fn check_policy(
    checker: &mut Checker,
    source: SourceId,
    policy: &PolicyDoc,
    caps: &Capabilities,
) -> Option<Policy> {
    let mut ok = true;
    if let Some(unmanaged) = &policy.unmanaged
        && !caps.unmanaged.contains(&unmanaged.value)
    {
        ok = false;
        let names: Vec<&str> = caps.unmanaged.iter().map(|u| u.as_str()).collect();
        checker
            .error(
                at(source, unmanaged.span),
                format!("{} cannot {} users", caps.name, unmanaged.value),
            )
            .hint = Some(format!(
            "use one of {}; its removals are {}",
            list(&names),
            caps.removal
        ));
    }
    if let Some(roles) = &policy.unmanaged_roles
        && caps.roles != Roles::Declared
    {
        ok = false;
        checker
            .error(
                at(source, roles.span),
                format!("{} has no roles to manage", caps.name),
            )
            .hint = Some("remove `unmanaged_roles`; it applies to BEdita".into());
    }
    let protect = policy
        .protect
        .iter()
        .flat_map(|p| p.value.iter().map(|p| p.value.0.clone()))
        .collect();
    ok.then(|| Policy {
        unmanaged: policy
            .unmanaged
            .as_ref()
            .map_or(crate::model::vocab::Unmanaged::Ignore, |u| u.value),
        unmanaged_roles: policy
            .unmanaged_roles
            .as_ref()
            .map_or(crate::model::vocab::UnmanagedRoles::Ignore, |u| u.value),
        protect,
        max_removals: policy.max_removals.as_ref().map(|m| m.value),
    })
}

/// Keys a provider does not store, and states it cannot express.
fn check_fields(
    checker: &mut Checker,
    source: SourceId,
    present: &[(&'static str, Span)],
    caps: &Capabilities,
    whose: &str,
) {
    for (key, span) in present {
        if *key == caps.identity || caps.user_fields.contains(key) || *key == "state" {
            continue;
        }
        let mut supported: Vec<&str> = vec![caps.identity];
        supported.extend(caps.user_fields);
        supported.push("state");
        checker
            .error(
                at(source, *span),
                format!("{} {whose} have no `{key}`", caps.name),
            )
            .hint = Some(format!(
            "remove it; {} {whose} have {}",
            caps.name,
            list(&supported)
        ));
    }
}

fn check_state(
    checker: &mut Checker,
    source: SourceId,
    state: Option<&Spanned<State>>,
    caps: &Capabilities,
) {
    let Some(state) = state else { return };
    if caps.states.contains(&state.value) {
        return;
    }
    let hint = match state.value {
        State::Deactivated => format!(
            "{} can only delete users: write `state: absent` to delete, or keep the user `active`",
            caps.name
        ),
        _ => format!(
            "{} supports {}",
            caps.name,
            list(&caps.states.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        ),
    };
    checker
        .error(
            at(source, state.span),
            format!("{} cannot express `state: {}`", caps.name, state.value),
        )
        .hint = Some(hint);
}

fn check_language(
    checker: &mut Checker,
    source: SourceId,
    language: Option<&Spanned<crate::model::vocab::LanguageTag>>,
    caps: &Capabilities,
) {
    let (Some(language), Some(supported)) = (language, caps.languages) else {
        return;
    };
    let tag = &language.value;
    if !supported.contains(&tag.primary()) {
        checker
            .error(
                at(source, language.span),
                format!(
                    "{} does not support the language `{}`",
                    caps.name,
                    tag.primary()
                ),
            )
            .hint = Some(format!(
            "supported languages are {}, with an optional region such as `en-US`",
            supported.join(", ")
        ));
    } else if let Some(region) = tag.region() {
        if ISO_3166_ALPHA2.binary_search(&region).is_err() {
            checker
                .error(
                    at(source, language.span),
                    format!("region `{region}` is not an ISO 3166-1 alpha-2 country code"),
                )
                .hint = Some(format!(
                "use a country code such as `{}-US` or `{}-GB`",
                tag.primary(),
                tag.primary()
            ));
        }
    } else if tag.as_str().contains('-') {
        checker
            .error(
                at(source, language.span),
                format!("{} language tags have no script subtag", caps.name),
            )
            .hint = Some(format!(
            "write `{}` or `{}-XX` with a country code",
            tag.primary(),
            tag.primary()
        ));
    }
}

fn check_defaults(
    checker: &mut Checker,
    source: SourceId,
    defaults: &DefaultsDoc,
    caps: &Capabilities,
) {
    check_fields(checker, source, &defaults.keys_present(), caps, "users");
    check_state(checker, source, defaults.state.as_ref(), caps);
    check_language(checker, source, defaults.language.as_ref(), caps);
    check_numbers(checker, source, defaults.sessions_limit.as_ref());
}

fn check_numbers(checker: &mut Checker, source: SourceId, sessions_limit: Option<&Spanned<u32>>) {
    if let Some(limit) = sessions_limit
        && !(1..=999_999).contains(&limit.value)
    {
        checker
            .error(
                at(source, limit.span),
                "`sessions_limit` must be from 1 to 999999",
            )
            .hint = Some("remove the key to leave the limit unmanaged".into());
    }
}

/// Declared roles, by name.
fn collect_roles(
    checker: &mut Checker,
    files: &[(SourceId, FileDoc)],
    caps: &Capabilities,
) -> BTreeMap<String, DesiredRole> {
    let mut roles: BTreeMap<String, DesiredRole> = BTreeMap::new();
    for (source, file) in files {
        let Some(declared) = &file.roles else {
            continue;
        };
        if caps.roles != Roles::Declared {
            let hint = match caps.roles {
                Roles::OneOf(names) => format!(
                    "{} has the fixed roles {}: give each user one with `roles: [...]`",
                    caps.name,
                    list(names)
                ),
                _ => format!(
                    "{} has no roles; use the `admin` and `plan_admin` flags on users",
                    caps.name
                ),
            };
            checker
                .error(
                    at(*source, declared.span),
                    format!("{} has no roles to declare", caps.name),
                )
                .hint = Some(hint);
            continue;
        }
        for role in &declared.value {
            let name = role.name.value.trim().to_string();
            if name.is_empty() {
                checker.error(at(*source, role.name.span), "a role needs a name");
                continue;
            }
            // BEdita lists roles by name separated by commas (`filter[roles]=a,b`).
            if name.contains(',') {
                checker
                    .error(
                        at(*source, role.name.span),
                        "a role name cannot contain `,`",
                    )
                    .hint = Some(format!("rename `{name}`, say with `-` in place of `,`"));
                continue;
            }
            if let Some(first) = roles.get(&name) {
                checker
                    .error(
                        at(*source, role.name.span),
                        format!("role `{name}` is declared twice"),
                    )
                    .related = Some((first.origin, "first declared here".into()));
                continue;
            }
            roles.insert(
                name.clone(),
                DesiredRole {
                    name,
                    description: role.description.as_ref().map(|d| d.value.clone()),
                    origin: at(*source, role.name.span),
                },
            );
        }
    }
    roles
}

/// Declared plan names, with where each is declared.
fn collect_plans(
    checker: &mut Checker,
    files: &[(SourceId, FileDoc)],
    caps: &Capabilities,
) -> BTreeMap<String, Origin> {
    let mut plans: BTreeMap<String, Origin> = BTreeMap::new();
    for (source, file) in files {
        let Some(declared) = &file.plans else {
            continue;
        };
        if !caps.plans {
            checker
                .error(
                    at(*source, declared.span),
                    format!("{} has no plans", caps.name),
                )
                .hint = Some("remove `plans`; plans are a Publica.la feature".into());
            continue;
        }
        for plan in &declared.value {
            let name = plan.name.value.trim().to_string();
            if name.is_empty() {
                checker.error(at(*source, plan.name.span), "a plan needs a name");
            } else if let Some(first) = plans.get(&name) {
                checker
                    .error(
                        at(*source, plan.name.span),
                        format!("plan `{name}` is declared twice"),
                    )
                    .related = Some((*first, "first declared here".into()));
            } else {
                plans.insert(name, at(*source, plan.name.span));
            }
        }
    }
    plans
}

/// Roles and plans a user (or the defaults) refers to must be known.
fn check_references(
    checker: &mut Checker,
    source: SourceId,
    roles: Option<&Spanned<Vec<Spanned<String>>>>,
    plan: Option<&Spanned<String>>,
    caps: &Capabilities,
    declared_roles: &BTreeMap<String, DesiredRole>,
    declared_plans: &BTreeMap<String, Origin>,
) -> Option<BTreeSet<String>> {
    let mut resolved = BTreeSet::new();
    let mut ok = true;
    if let Some(roles) = roles {
        match caps.roles {
            Roles::OneOf(names) => {
                for role in &roles.value {
                    let name = role.value.trim().to_lowercase();
                    if names.contains(&name.as_str()) {
                        resolved.insert(name);
                    } else {
                        ok = false;
                        let d = checker.error(
                            at(source, role.span),
                            format!("`{}` is not a {} role", role.value, caps.name),
                        );
                        match suggest(&name, names) {
                            Some(best) => d.label = Some(format!("did you mean `{best}`?")),
                            None => {
                                d.hint = Some(format!("{} roles are {}", caps.name, list(names)))
                            }
                        }
                    }
                }
                if ok && resolved.len() != 1 {
                    ok = false;
                    checker
                        .error(
                            at(source, roles.span),
                            format!("a {} user has exactly one role", caps.name),
                        )
                        .hint = Some("write `roles: [owner]` or `roles: [user]`, or remove `roles` to leave it unmanaged".to_string());
                }
            }
            Roles::Declared => {
                let names: Vec<&str> = declared_roles.keys().map(String::as_str).collect();
                for role in &roles.value {
                    let name = role.value.trim();
                    if declared_roles.contains_key(name) {
                        resolved.insert(name.to_string());
                    } else {
                        ok = false;
                        let d =
                            checker.error(at(source, role.span), format!("unknown role `{name}`"));
                        if let Some(best) = suggest(name, &names) {
                            d.label = Some(format!("did you mean `{best}`?"));
                        }
                        d.hint = Some(format!(
                            "declare it under the top-level `roles:` (`- name: {name}`)"
                        ));
                    }
                }
            }
            Roles::None => {}
        }
    }
    if let (Some(plan), true) = (plan, caps.plans) {
        let name = plan.value.trim();
        if !declared_plans.contains_key(name) {
            ok = false;
            let names: Vec<&str> = declared_plans.keys().map(String::as_str).collect();
            let d = checker.error(at(source, plan.span), format!("unknown plan `{name}`"));
            if let Some(best) = suggest(name, &names) {
                d.label = Some(format!("did you mean `{best}`?"));
            }
            d.hint = Some(format!(
                "declare it under the top-level `plans:` (`- name: {name}`)"
            ));
        }
    }
    ok.then_some(resolved)
}

fn identity_span(user: &UserDoc, caps: &Capabilities) -> Option<Span> {
    match caps.identity {
        "email" => user.email.as_ref().map(|e| e.span),
        "external_id" => user.external_id.as_ref().map(|e| e.span),
        _ => user.username.as_ref().map(|u| u.span),
    }
}

/// What every user is checked against.
struct Scope<'a> {
    caps: &'static Capabilities,
    provider: Provider,
    defaults: Option<&'a DefaultsDoc>,
    /// The default roles, already checked where the defaults are written.
    default_roles: Option<BTreeSet<String>>,
    roles: &'a BTreeMap<String, DesiredRole>,
    plans: &'a BTreeMap<String, Origin>,
}

/// The normalised natural key of a user, if it has one.
fn user_key(user: &UserDoc, provider: Provider) -> Option<String> {
    match provider {
        Provider::PiwikPro => user.email.as_ref().map(|e| e.value.key()),
        Provider::PublicaLa => user.external_id.as_ref().map(|e| e.value.0.clone()),
        Provider::Bedita => user
            .username
            .as_ref()
            .map(|u| crate::model::capabilities::username_key(&u.value)),
    }
}

fn check_user(
    checker: &mut Checker,
    origin: Origin,
    user: &UserDoc,
    key: Option<String>,
    scope: &Scope,
) -> Option<DesiredUser> {
    let Scope {
        caps,
        provider,
        defaults,
        ..
    } = *scope;
    let source = origin.source;
    let before = checker.diagnostics.len();
    let present = user.keys_present();
    check_fields(checker, source, &present, caps, "users");
    check_state(checker, source, user.state.as_ref(), caps);
    check_language(checker, source, user.language.as_ref(), caps);
    check_numbers(checker, source, user.sessions_limit.as_ref());

    if key.is_none() {
        checker
            .error(
                origin,
                format!("a {} user needs `{}`", caps.name, caps.identity),
            )
            .hint = Some(format!(
            "{} identifies users by `{}`",
            caps.name, caps.identity
        ));
    }
    let state = user.state.as_ref().map_or_else(
        || {
            defaults
                .and_then(|d| d.state.as_ref())
                .map_or(State::Active, |s| s.value)
        },
        |s| s.value,
    );
    if state == State::Absent {
        for (name, span) in &present {
            if !matches!(*name, "state" | "email" | "force_logout") && *name != caps.identity {
                checker
                    .error(
                        at(source, *span),
                        format!("`{name}` has no effect on a user with `state: absent`"),
                    )
                    .hint = Some("remove it; an absent user is only identified".into());
            }
        }
    } else {
        for required in caps.required_fields {
            if !present.iter().any(|(k, _)| k == required) {
                checker
                    .error(origin, format!("a {} user needs `{required}`", caps.name))
                    .hint = Some(format!("add `{required}: ...`"));
            }
        }
    }
    if let Some(username) = &user.username
        && provider == Provider::Bedita
    {
        let name = username.value.trim();
        if name.is_empty()
            || name.contains(['<', '>', ':', '/', '='])
            || name.starts_with("__deleted-")
        {
            checker
                .error(
                    at(source, username.span),
                    format!("`{name}` is not a valid BEdita username"),
                )
                .hint = Some("use a non-empty name without `<`, `>`, `:`, `/` or `=`".into());
        }
    }
    if let (Some(password), Some((min, max))) = (&user.password, caps.password_len) {
        let len = password.value.value.expose().chars().count();
        // Zero means the reference itself was already reported (unset, empty or literal).
        if len > 0 && (len < min || len > max) {
            checker
                .error(
                    at(source, password.span),
                    format!(
                        "the initial password in `{}` must be {min} to {max} characters long",
                        password.value.var
                    ),
                )
                .hint = Some(format!("it is {len} characters long"));
        }
    }
    let roles = match &user.roles {
        Some(roles) => check_references(
            checker,
            source,
            Some(roles),
            None,
            caps,
            scope.roles,
            scope.plans,
        ),
        None => scope.default_roles.clone(),
    };
    check_references(
        checker,
        source,
        None,
        user.plan.as_ref(),
        caps,
        scope.roles,
        scope.plans,
    );
    let plan = user
        .plan
        .as_ref()
        .or_else(|| defaults.and_then(|d| d.plan.as_ref()))
        .map(|p| p.value.trim().to_string());
    let plan_valid_to = user
        .plan_valid_to
        .as_ref()
        .or_else(|| defaults.and_then(|d| d.plan_valid_to.as_ref()));
    if let (Some(valid_to), None) = (user.plan_valid_to.as_ref(), &plan) {
        checker
            .error(
                at(source, valid_to.span),
                "`plan_valid_to` without a `plan`",
            )
            .hint = Some("add `plan: ...`, or remove `plan_valid_to`".into());
    }
    if checker.diagnostics.len() > before {
        return None;
    }
    let inherit_bool = |own: &Option<Spanned<bool>>, default: Option<&Option<Spanned<bool>>>| {
        own.as_ref()
            .or_else(|| default.and_then(|d| d.as_ref()))
            .map(|b| b.value)
    };
    let absent = state == State::Absent;
    Some(DesiredUser {
        key: key?,
        origin,
        state,
        state_origin: user.state.as_ref().map(|s| at(source, s.span)),
        state_at: None,
        at: String::new(),
        email: user.email.as_ref().map(|e| e.value.clone()),
        external_id: user.external_id.as_ref().map(|e| e.value.0.clone()),
        username: user.username.as_ref().map(|u| u.value.trim().to_string()),
        name: managed(absent, user.name.as_ref().map(|n| n.value.clone())),
        surname: managed(absent, user.surname.as_ref().map(|n| n.value.clone())),
        language: managed(
            absent,
            user.language
                .as_ref()
                .or_else(|| defaults.and_then(|d| d.language.as_ref()))
                .map(|l| l.value.clone()),
        ),
        roles: managed(absent, roles),
        password: managed(absent, user.password.as_ref().map(|p| p.value.clone())),
        plan: managed(absent, plan),
        plan_valid_to: managed(absent, plan_valid_to.map(|d| d.value)),
        admin: managed(
            absent,
            inherit_bool(&user.admin, defaults.map(|d| &d.admin)),
        ),
        plan_admin: managed(
            absent,
            inherit_bool(&user.plan_admin, defaults.map(|d| &d.plan_admin)),
        ),
        only_sees_readable: managed(
            absent,
            inherit_bool(
                &user.only_sees_readable,
                defaults.map(|d| &d.only_sees_readable),
            ),
        ),
        sessions_limit: managed(
            absent,
            user.sessions_limit
                .as_ref()
                .or_else(|| defaults.and_then(|d| d.sessions_limit.as_ref()))
                .map(|s| s.value),
        ),
        // Meaningful for a leaver too: Publica.la removes by deactivating.
        force_logout: user.force_logout.as_ref().map(|f| f.value),
    })
}

/// An absent user manages nothing but its identity.
fn managed<T>(absent: bool, value: Option<T>) -> Option<T> {
    if absent { None } else { value }
}
