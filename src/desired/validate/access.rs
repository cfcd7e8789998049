//! App and meta-site permissions, and user groups (Piwik PRO).

use super::*;
use crate::desired::format::{GroupDoc, PermissionMap};
use crate::model::access::{DesiredGroup, DesiredPermission, Entity, EntityName};
use crate::model::vocab::State;

/// The permissions a map gives, each checked against what its entity takes.
pub(super) fn permissions(
    checker: &mut Checker,
    source: SourceId,
    entity: Entity,
    map: Option<&Spanned<PermissionMap>>,
) -> Vec<DesiredPermission> {
    let mut out = Vec::new();
    for (name, permission) in map.iter().flat_map(|m| &m.value.0) {
        if !entity.takes(permission.value) {
            checker
                .error(
                    at(source, permission.span),
                    format!(
                        "a {} has no `{}` permission",
                        entity.noun(),
                        permission.value
                    ),
                )
                .hint = Some("use `edit` or `manage`".into());
            continue;
        }
        out.push(DesiredPermission {
            entity,
            on: EntityName::from_key(&name.value),
            permission: permission.value,
            origin: at(source, name.span),
        });
    }
    out
}

/// The permissions a user or group gives in its `apps` and `meta_sites`.
pub(super) fn both(
    checker: &mut Checker,
    source: SourceId,
    apps: Option<&Spanned<PermissionMap>>,
    meta_sites: Option<&Spanned<PermissionMap>>,
) -> Vec<DesiredPermission> {
    let mut out = permissions(checker, source, Entity::App, apps);
    out.extend(permissions(checker, source, Entity::MetaSite, meta_sites));
    out
}

/// Every file's groups, on a provider that has them, each name used once.
pub(super) fn collect_groups(
    checker: &mut Checker,
    files: &[(SourceId, FileDoc)],
    caps: &Capabilities,
) -> Vec<DesiredGroup> {
    let mut groups: Vec<DesiredGroup> = Vec::new();
    let mut names: HashMap<String, Origin> = HashMap::new();
    for (source, file) in files {
        let Some(list) = &file.groups else { continue };
        if !caps.access {
            checker
                .error(
                    at(*source, list.span),
                    format!("{} has no user groups rollcall manages", caps.name),
                )
                .hint = Some("remove `groups`".into());
            continue;
        }
        for group in &list.value {
            if let Some(group) = check_group(checker, *source, group, &mut names) {
                groups.push(group);
            }
        }
    }
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    groups
}

fn check_group(
    checker: &mut Checker,
    source: SourceId,
    group: &Spanned<GroupDoc>,
    names: &mut HashMap<String, Origin>,
) -> Option<DesiredGroup> {
    let before = checker.diagnostics.len();
    let name = group.name.value.trim().to_string();
    if name.is_empty() {
        checker.error(at(source, group.name.span), "a group needs a name");
    }
    let formers = group.former_names.iter().flat_map(|f| &f.value);
    for (text, span) in std::iter::once((&group.name.value, group.name.span))
        .chain(formers.map(|f| (&f.value, f.span)))
    {
        let key = text.trim().to_lowercase();
        let here = at(source, span);
        if let Some(first) = names.get(&key) {
            checker.push(
                Diagnostic::at(
                    here,
                    format!("the group name `{}` is used twice", text.trim()),
                )
                .related(*first, "first used here")
                .hint(
                    "a name, current or former, names one group; names match whatever their case",
                ),
            );
        } else {
            names.insert(key, here);
        }
    }
    let access = both(
        checker,
        source,
        group.apps.as_ref(),
        group.meta_sites.as_ref(),
    );
    // With SSO provisioning the identity provider owns such a group's members, and nothing
    // tells rollcall whether it is on: the files may manage the group's permissions only.
    if let (Some(_), Some(members)) = (&group.external_id, &group.members) {
        checker
            .error(
                at(source, members.span),
                "the members of a group with an `external_id` come from the identity provider",
            )
            .hint = Some(
            "remove `members`: the identity provider keeps them; the files may manage the group's permissions"
                .into(),
        );
    }
    if checker.diagnostics.len() > before {
        return None;
    }
    Some(DesiredGroup {
        name,
        external_id: group
            .external_id
            .as_ref()
            .map(|e| e.value.trim().to_string())
            .filter(|e| !e.is_empty()),
        former_names: group
            .former_names
            .iter()
            .flat_map(|f| &f.value)
            .map(|f| f.value.trim().to_string())
            .collect(),
        members: group
            .members
            .as_ref()
            .map(|m| m.value.iter().map(|e| e.value.key()).collect()),
        access,
        origin: at(source, group.span),
    })
}

/// Every member of a group must be a user of the files, and one who stays: a leaver
/// (`state: absent`) cannot join a group.
pub(super) fn check_members(
    checker: &mut Checker,
    groups: &[DesiredGroup],
    state_of: impl Fn(&str) -> Option<State>,
) {
    for group in groups {
        for member in group.members.iter().flatten() {
            let (message, hint) = match state_of(member) {
                None => (
                    format!(
                        "`{member}`, a member of the group `{}`, is in no file",
                        group.name
                    ),
                    "list the person under `users`, or take them out of the group",
                ),
                Some(State::Absent) => (
                    format!(
                        "`{member}`, a member of the group `{}`, is `state: absent`",
                        group.name
                    ),
                    "take the leaver out of the group's `members`",
                ),
                Some(_) => continue,
            };
            checker.error(group.origin, message).hint = Some(hint.into());
        }
    }
}
