//! The target and the policy: one of each, credentials that match the provider.

use super::*;

pub(super) fn check_credentials(
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

pub(super) fn resolved_credentials(doc: &CredentialsDoc) -> Credentials {
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

pub(super) fn check_policy(
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
    for span in [
        policy.unmanaged_groups.as_ref().map(|p| p.span),
        policy.unmanaged_permissions.as_ref().map(|p| p.span),
    ]
    .into_iter()
    .flatten()
    {
        if !caps.access {
            ok = false;
            checker
                .error(
                    at(source, span),
                    format!("{} has no user groups or app permissions", caps.name),
                )
                .hint = Some(
                "remove `unmanaged_groups` and `unmanaged_permissions`; they apply to Piwik PRO"
                    .into(),
            );
        }
    }
    if let Some(min) = &policy.min_admins
        && min.value == 0
    {
        ok = false;
        checker
            .error(at(source, min.span), "`min_admins` must be at least 1")
            .hint = Some(
            "an account without an owner or admin cannot be run; leave it out for the default of 1"
                .into(),
        );
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
        unmanaged_groups: policy
            .unmanaged_groups
            .as_ref()
            .map_or(crate::model::vocab::UnmanagedGroups::Ignore, |u| u.value),
        unmanaged_permissions: policy
            .unmanaged_permissions
            .as_ref()
            .map_or(crate::model::vocab::UnmanagedPermissions::Ignore, |u| {
                u.value
            }),
        protect,
        max_removals: policy.max_removals.as_ref().map(|m| m.value),
        min_admins: policy.min_admins.as_ref().map_or(1, |m| m.value),
    })
}
