//! Declared roles and plans, and the users and defaults that refer to them.

use super::*;

/// Declared roles, by name.
pub(super) fn collect_roles(
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
pub(super) fn collect_plans(
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
pub(super) fn check_references(
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
