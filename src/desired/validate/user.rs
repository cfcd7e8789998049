//! One user: its identity, its fields, and what it may refer to.

use super::*;

pub(super) fn identity_span(user: &UserDoc, caps: &Capabilities) -> Option<Span> {
    match caps.identity {
        "email" => user.email.as_ref().map(|e| e.span),
        "external_id" => user.external_id.as_ref().map(|e| e.span),
        _ => user.username.as_ref().map(|u| u.span),
    }
}

/// What every user is checked against.
pub(super) struct Scope<'a> {
    pub(super) caps: &'static Capabilities,
    pub(super) defaults: Option<&'a DefaultsDoc>,
    /// The default roles, already checked where the defaults are written.
    pub(super) default_roles: Option<&'a BTreeSet<String>>,
    pub(super) roles: &'a BTreeMap<String, DesiredRole>,
    pub(super) plans: &'a BTreeMap<String, Origin>,
}

/// The normalised natural key of a user, if it has one, by the provider's identity key.
pub(super) fn user_key(user: &UserDoc, caps: &Capabilities) -> Option<String> {
    match caps.identity {
        "email" => user.email.as_ref().map(|e| e.value.key()),
        "external_id" => user.external_id.as_ref().map(|e| e.value.0.clone()),
        "username" => user
            .username
            .as_ref()
            .map(|u| crate::model::capabilities::username_key(&u.value)),
        _ => None,
    }
}

pub(super) fn check_user(
    checker: &mut Checker,
    origin: Origin,
    user: &UserDoc,
    key: Option<String>,
    scope: &Scope,
) -> Option<DesiredUser> {
    let Scope { caps, defaults, .. } = *scope;
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
    // Where the account's list hides the identity, a leaver can be found only by email.
    if state == State::Absent
        && !caps.lists_identity
        && caps.user_fields.contains(&"email")
        && !present.iter().any(|(k, _)| *k == "email")
    {
        checker
            .error(
                origin,
                format!("a {} user to remove needs `email`", caps.name),
            )
            .hint = Some(format!(
            "the account's user list does not show `{}`, so a leaver is found by email: give its email",
            caps.identity
        ));
    }
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
        && caps.identity == "username"
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
        None => scope.default_roles.cloned(),
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
    let access = access::both(
        checker,
        source,
        user.apps.as_ref(),
        user.meta_sites.as_ref(),
    );
    if !access.is_empty() && roles.as_ref().is_some_and(|r| r.contains("owner")) {
        let span = user
            .apps
            .as_ref()
            .or(user.meta_sites.as_ref())
            .map_or(origin.span, |m| m.span);
        checker
            .error(at(source, span), "an owner holds every permission already")
            .hint = Some("remove `apps` and `meta_sites`, or make the user `roles: [user]`".into());
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
    let details = Details {
        former_emails: user
            .former_emails
            .iter()
            .flat_map(|list| &list.value)
            .map(|e| e.value.clone())
            .collect(),
        external_id: user.external_id.as_ref().map(|e| e.value.0.clone()),
        username: user.username.as_ref().map(|u| u.value.trim().to_string()),
        name: managed(absent, user.name.as_ref().map(|n| n.value.clone())),
        surname: managed(absent, user.surname.as_ref().map(|n| n.value.clone())),
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
        access,
    };
    let mut desired = DesiredUser::new(key?, origin);
    desired.state = state;
    desired.state_origin = user.state.as_ref().map(|s| at(source, s.span));
    desired.email = user.email.as_ref().map(|e| e.value.clone());
    desired.language = managed(
        absent,
        user.language
            .as_ref()
            .or_else(|| defaults.and_then(|d| d.language.as_ref()))
            .map(|l| l.value),
    );
    desired.roles = managed(absent, roles);
    desired.set_details(details);
    Some(desired)
}

/// An absent user manages nothing but its identity.
pub(super) fn managed<T>(absent: bool, value: Option<T>) -> Option<T> {
    if absent { None } else { value }
}
