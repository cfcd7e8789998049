//! Planning Piwik PRO access: the group, membership and permission steps that take an account
//! from the access it has to the access the files want.
//!
//! A user's effective permission on an app or meta site is the highest of their own and their
//! groups'. Steps are ordered so that nobody ever holds less than both their permission before
//! and their permission after the run: every step that can raise someone's access on an entity
//! (a grant raised, a member added) comes before, and is waited for by, every step that can
//! lower it there (a grant lowered, a member removed). If a raise fails, the lowerings that wait
//! for it do not run, and the person keeps what they had.

use std::collections::{BTreeMap, BTreeSet};

pub use crate::model::access::EntityName;
use crate::model::access::{Entity, LiveAccess, LiveGroup, Permission, Principal};

/// A group as the files want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedGroup {
    pub name: String,
    /// Its id in the identity provider; a live group with the same one is this group.
    pub external_id: Option<String>,
    /// Names it had before: a live group under one of them is this group, renamed.
    pub former_names: Vec<String>,
    /// Member user ids; `None` leaves the members as they are (the identity provider owns them).
    pub members: Option<BTreeSet<String>>,
}

/// Who a permission is for: a user by id, or a group by its name in the files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holder {
    User(String),
    Group(String),
}

/// One permission the files want, on an app or meta site by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedGrant {
    pub entity: Entity,
    pub on: String,
    pub holder: Holder,
    pub permission: Permission,
}

/// The access the files want, names already resolved to ids. Only what is listed is managed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WantedAccess {
    pub groups: Vec<WantedGroup>,
    pub grants: Vec<WantedGrant>,
}

/// A group a step acts on: one the account has, or one this plan creates (by name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupRef {
    Live(String),
    New(String),
}

/// One change to an account's access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    CreateGroup {
        name: String,
        external_id: Option<String>,
    },
    RenameGroup {
        id: String,
        from: String,
        to: String,
    },
    /// Deletes a group the files leave out; what it granted goes with it.
    DeleteGroup {
        id: String,
        name: String,
    },
    AddMembers {
        group: GroupRef,
        users: Vec<String>,
    },
    RemoveMembers {
        group: GroupRef,
        users: Vec<String>,
    },
    SetPermission {
        entity: Entity,
        on: String,
        holder: StepHolder,
        before: Permission,
        after: Permission,
    },
}

/// Who a permission step is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepHolder {
    User(String),
    Group(GroupRef),
}

/// A step and the earlier steps it waits for (indices into the list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub step: Step,
    pub depends_on: Vec<usize>,
}

/// A person's effective permission on an entity before and after the run, where it changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Effect {
    pub user: String,
    pub entity: Entity,
    pub on: String,
    pub before: Permission,
    pub after: Permission,
}

/// The steps, in an order that respects every dependency, and the effective changes they make.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPlan {
    pub steps: Vec<Planned>,
    pub effects: Vec<Effect>,
}

/// The app or meta site the files name. App names need not be unique: a name two apps share,
/// like one no app has, is refused, naming the candidates, so the files can pin it by UUID.
pub fn resolve<'l>(
    entity: Entity,
    named: &EntityName,
    live: &'l LiveAccess,
) -> Result<&'l crate::model::access::Named, String> {
    let list = match entity {
        Entity::App => &live.apps,
        Entity::MetaSite => &live.meta_sites,
    };
    let noun = entity.noun();
    let shown = crate::escape::visible;
    match named {
        EntityName::Id(id) => list
            .iter()
            .find(|n| n.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| format!("no {noun} has the id `{}`", shown(id))),
        EntityName::Name(name) => {
            let found: Vec<_> = list.iter().filter(|n| n.name == *name).collect();
            match found.as_slice() {
                [one] => Ok(one),
                [] => {
                    let names: Vec<&str> = list.iter().map(|n| n.name.as_str()).collect();
                    let hint = crate::desired::decode::suggest(name, &names)
                        .map(|close| format!("; did you mean `{}`?", shown(close)))
                        .unwrap_or_default();
                    Err(format!("no {noun} is named `{}`{hint}", shown(name)))
                }
                many => {
                    let ids: Vec<String> =
                        many.iter().map(|n| format!("`{}`", shown(&n.id))).collect();
                    Err(format!(
                        "{} {noun}s are named `{}`: {}; name one by its UUID",
                        many.len(),
                        shown(name),
                        ids.join(", ")
                    ))
                }
            }
        }
    }
}

/// The id a user is known by in access steps: their id at the account, or, for a user this run
/// invites, `new:` and their key, which the executor replaces with the id the invite returns.
fn user_ref(key: &str, ids: &std::collections::HashMap<&str, &str>) -> String {
    match ids.get(key) {
        Some(id) => id.to_string(),
        None => format!("{NEW_USER}{key}"),
    }
}

/// The apps and meta sites the files give permissions on, as they name them; `None` when they
/// manage no access at all (no permission and no group), so none is read or planned.
pub fn scope(desired: &crate::model::DesiredState) -> Option<crate::model::access::AccessScope> {
    let users = desired.users.iter().flat_map(|u| &u.details().access);
    let groups = desired.groups.iter().flat_map(|g| &g.access);
    let mut named: Vec<(Entity, EntityName)> = users
        .chain(groups)
        .map(|p| (p.entity, p.on.clone()))
        .collect();
    let policy = &desired.policy;
    if policy.unmanaged_groups == crate::model::vocab::UnmanagedGroups::Delete
        || policy.unmanaged_permissions == crate::model::vocab::UnmanagedPermissions::Revoke
    {
        // What the files leave out is known only from everything the account has.
        return Some(crate::model::access::AccessScope::Everything);
    }
    if named.is_empty() && desired.groups.is_empty() {
        return None;
    }
    named.sort();
    named.dedup();
    Some(crate::model::access::AccessScope::Named(named))
}

/// The prefix of [`user_ref`] for a user invited in the same run.
pub const NEW_USER: &str = "new:";

/// What the files want of access, with every app and meta site resolved against what was read
/// and every user by [`user_ref`]. Refused, with every reason, where a name resolves to no
/// entity or to several.
pub fn wanted_access(
    desired: &crate::model::DesiredState,
    users: &[crate::model::LiveUser],
    live: &LiveAccess,
) -> Result<WantedAccess, Vec<String>> {
    let mut problems = Vec::new();
    let mut resolved = |p: &crate::model::access::DesiredPermission, holder: Holder| match resolve(
        p.entity, &p.on, live,
    ) {
        Ok(named) => Some(WantedGrant {
            entity: p.entity,
            on: named.id.clone(),
            holder,
            permission: p.permission,
        }),
        Err(problem) => {
            problems.push(format!("{} (at {})", problem, desired.at(p.origin)));
            None
        }
    };
    let ids: std::collections::HashMap<&str, &str> = users
        .iter()
        .map(|u| (u.key.as_str(), u.id.as_str()))
        .collect();
    let mut grants = Vec::new();
    for user in desired
        .users
        .iter()
        .filter(|u| u.state != crate::model::vocab::State::Absent)
        .filter(|u| !u.details().access.is_empty())
    {
        let holder = Holder::User(user_ref(&user.key, &ids));
        grants.extend(
            user.details()
                .access
                .iter()
                .filter_map(|p| resolved(p, holder.clone())),
        );
    }
    let mut groups = Vec::new();
    for group in &desired.groups {
        let holder = Holder::Group(group.name.clone());
        grants.extend(
            group
                .access
                .iter()
                .filter_map(|p| resolved(p, holder.clone())),
        );
        groups.push(WantedGroup {
            name: group.name.clone(),
            external_id: group.external_id.clone(),
            former_names: group.former_names.clone(),
            members: group
                .members
                .as_ref()
                .map(|keys| keys.iter().map(|k| user_ref(k, &ids)).collect()),
        });
    }
    // One app named twice for the same holder (say by name and by UUID) must agree.
    let mut given: BTreeMap<(Entity, &str, &Holder), Permission> = BTreeMap::new();
    for grant in &grants {
        let key = (grant.entity, grant.on.as_str(), &grant.holder);
        match given.insert(key, grant.permission) {
            Some(other) if other != grant.permission => {
                let holder = match &grant.holder {
                    Holder::User(id) => id
                        .strip_prefix(NEW_USER)
                        .map(str::to_string)
                        .or_else(|| users.iter().find(|u| u.id == *id).map(|u| u.key.clone()))
                        .unwrap_or_else(|| id.clone()),
                    Holder::Group(name) => format!("the group `{name}`"),
                };
                problems.push(format!(
                    "{holder} is given {} `{}` twice, as `{other}` and as `{}`; name it once",
                    grant.entity.noun(),
                    grant.on,
                    grant.permission
                ));
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(WantedAccess { groups, grants })
    } else {
        problems.sort();
        problems.dedup();
        Err(problems)
    }
}

/// A user's access on one app or meta site: (user id, entity, entity id).
type Reached = (String, Entity, String);

/// Which live group each wanted group is, one each: by external id, then exact name, then name
/// whatever its case, then a former name; a live group is claimed once. A live group whose
/// external id differs from the wanted one's is never taken for it.
fn match_groups<'l>(wanted: &[WantedGroup], live: &'l [LiveGroup]) -> Vec<Option<&'l LiveGroup>> {
    let mut matched: Vec<Option<&LiveGroup>> = vec![None; wanted.len()];
    let mut claimed: BTreeSet<&str> = BTreeSet::new();
    let compatible = |w: &WantedGroup, l: &LiveGroup| match (&w.external_id, &l.external_id) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    type Rule = fn(&WantedGroup, &LiveGroup) -> bool;
    let rules: [Rule; 4] = [
        |w, l| w.external_id.is_some() && w.external_id == l.external_id,
        |w, l| w.name == l.name,
        |w, l| w.name.eq_ignore_ascii_case(&l.name),
        |w, l| {
            w.former_names
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&l.name))
        },
    ];
    for rule in rules {
        for (i, w) in wanted.iter().enumerate() {
            if matched[i].is_some() {
                continue;
            }
            let found = live
                .iter()
                .find(|l| !claimed.contains(l.id.as_str()) && compatible(w, l) && rule(w, l));
            if let Some(l) = found {
                claimed.insert(&l.id);
                matched[i] = Some(l);
            }
        }
    }
    matched
}

/// A step before batching: members are added and removed one user at a time, so that each waits
/// only for what that user's access needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Create(String, Option<String>),
    Rename(String, String, String),
    Delete(String, String),
    Add(GroupRef, String),
    Remove(GroupRef, String),
    Set(Entity, String, StepHolder, Permission, Permission),
}

/// What happens to what the files leave out. By default, nothing: only what they list is managed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// The users of the files, by id.
    pub users: BTreeSet<String>,
    /// Every direct permission of those users and of the files' groups on an app or meta site
    /// the files do not name for them is set to `no-access`.
    pub revoke_unlisted: bool,
    /// Every live group the files neither list nor give permissions is deleted.
    pub delete_unlisted_groups: bool,
}

/// [`plan_access_with`] under the default policy: what the files leave out stays as it is.
pub fn plan_access(wanted: &WantedAccess, live: &LiveAccess) -> Result<AccessPlan, Vec<String>> {
    plan_access_with(wanted, live, &AccessPolicy::default())
}

/// Plans the steps from `live` to `wanted`. Groups, members and permissions the files do not
/// list are left as they are. Refused, with the reasons, when the plan would rest on something
/// not read (an entity's permissions, a group's members), names a group that does not exist, or
/// its changes wait on each other in a loop.
///
/// Under `policy`, the permissions the files leave out are revoked and the groups they leave out
/// deleted; both need every permission of the account read.
pub fn plan_access_with(
    wanted: &WantedAccess,
    live: &LiveAccess,
    policy: &AccessPolicy,
) -> Result<AccessPlan, Vec<String>> {
    let mut problems = Vec::new();
    let matched = match_groups(&wanted.groups, &live.groups);
    // A group by its name in the files: one they manage, else one the account has.
    let reference = |name: &str| -> Option<GroupRef> {
        match wanted
            .groups
            .iter()
            .position(|g| g.name.eq_ignore_ascii_case(name))
        {
            Some(i) => Some(match matched[i] {
                Some(group) => GroupRef::Live(group.id.clone()),
                None => GroupRef::New(wanted.groups[i].name.clone()),
            }),
            None => live
                .groups
                .iter()
                .find(|g| g.name.eq_ignore_ascii_case(name))
                .map(|g| GroupRef::Live(g.id.clone())),
        }
    };
    for grant in &wanted.grants {
        if !live.grants_read.contains(&(grant.entity, grant.on.clone())) {
            problems.push(format!(
                "the permissions on {} `{}` were not read",
                grant.entity.noun(),
                grant.on
            ));
        }
        if let Holder::Group(name) = &grant.holder
            && reference(name).is_none()
        {
            problems.push(format!(
                "no group is named `{name}`, in the files or the account"
            ));
        }
    }
    // Every live group the plan reasons about must have had its members read.
    let entities: BTreeSet<(Entity, &str)> = wanted
        .grants
        .iter()
        .map(|g| (g.entity, g.on.as_str()))
        .collect();
    for group in &live.groups {
        let managed = matched.iter().flatten().any(|m| m.id == group.id);
        let grants_there = live.grants.iter().any(|g| {
            g.principal == Principal::Group
                && g.to == group.id
                && entities.contains(&(g.entity, g.on.as_str()))
        });
        if (managed || grants_there) && group.members.is_none() {
            problems.push(format!(
                "the members of the group `{}` were not read",
                group.name
            ));
        }
    }
    // The identity provider owns the members of a group with an external id.
    for (w, l) in wanted.groups.iter().zip(&matched) {
        if let (Some(members), Some(l)) = (&w.members, l)
            && let Some(external_id) = &l.external_id
            && l.members.as_ref().is_some_and(|live| {
                live.len() != members.len() || live.iter().any(|m| !members.contains(m))
            })
        {
            problems.push(format!(
                "the members of the group `{}` come from the identity provider (external id `{external_id}`); the files may manage its permissions only",
                l.name
            ));
        }
    }
    // A group to create may not take a name a live group keeps (one with another external id):
    // one renamed away by this plan frees it first.
    for (w, l) in wanted.groups.iter().zip(&matched) {
        if l.is_none()
            && let Some(other) = live
                .groups
                .iter()
                .filter(|o| !matched.iter().flatten().any(|m| m.id == o.id))
                .find(|o| o.name.eq_ignore_ascii_case(&w.name))
        {
            problems.push(format!(
                "the group `{}` cannot be created: the group `{}` has that name, with the external id `{}`; give the new group another name, or let the old one go in a run of its own",
                w.name,
                other.name,
                other.external_id.as_deref().unwrap_or("(none)")
            ));
        }
    }
    // A rename may not take a name another live group keeps.
    for (w, l) in wanted.groups.iter().zip(&matched) {
        if let Some(l) = l
            && l.name != w.name
            && live.groups.iter().any(|o| {
                o.id != l.id
                    && o.name.eq_ignore_ascii_case(&w.name)
                    && !matched.iter().flatten().any(|m| m.id == o.id)
            })
        {
            problems.push(format!(
                "the group `{}` cannot be renamed `{}`: another group has that name",
                l.name, w.name
            ));
        }
    }
    if !problems.is_empty() {
        problems.sort();
        problems.dedup();
        return Err(problems);
    }

    // Members and permissions before and after.
    let mut members_before: BTreeMap<GroupRef, BTreeSet<String>> = BTreeMap::new();
    for group in &live.groups {
        let members = group.members.iter().flatten().cloned().collect();
        members_before.insert(GroupRef::Live(group.id.clone()), members);
    }
    let mut members_after = members_before.clone();
    for (w, l) in wanted.groups.iter().zip(&matched) {
        let key = match l {
            Some(l) => GroupRef::Live(l.id.clone()),
            None => {
                let key = GroupRef::New(w.name.clone());
                members_before.insert(key.clone(), BTreeSet::new());
                key
            }
        };
        let after = match &w.members {
            Some(members) => members.clone(),
            None => members_before.get(&key).cloned().unwrap_or_default(),
        };
        members_after.insert(key, after);
    }
    let mut held_before: BTreeMap<Slot, Permission> = BTreeMap::new();
    for grant in &live.grants {
        let holder = match grant.principal {
            Principal::User => StepHolder::User(grant.to.clone()),
            Principal::Group => StepHolder::Group(GroupRef::Live(grant.to.clone())),
        };
        held_before.insert((grant.entity, grant.on.clone(), holder), grant.permission);
    }
    let mut held_after = held_before.clone();
    // The places the files give a permission.
    let mut named: BTreeSet<Slot> = BTreeSet::new();
    for grant in &wanted.grants {
        let holder = match &grant.holder {
            Holder::User(id) => StepHolder::User(id.clone()),
            Holder::Group(name) => StepHolder::Group(reference(name).expect("checked above")),
        };
        named.insert((grant.entity, grant.on.clone(), holder.clone()));
        held_after.insert((grant.entity, grant.on.clone(), holder), grant.permission);
    }
    // Groups the files leave out, deleted: their members and grants go with them.
    let deleted: BTreeMap<&str, &str> = live
        .groups
        .iter()
        .filter(|_| policy.delete_unlisted_groups)
        .filter(|g| !matched.iter().flatten().any(|m| m.id == g.id))
        .filter(|g| {
            !named
                .iter()
                .any(|(_, _, h)| *h == StepHolder::Group(GroupRef::Live(g.id.clone())))
        })
        .map(|g| (g.id.as_str(), g.name.as_str()))
        .collect();
    let is_deleted = |holder: &StepHolder| match holder {
        StepHolder::Group(GroupRef::Live(id)) => deleted.contains_key(id.as_str()),
        _ => false,
    };
    for id in deleted.keys() {
        members_after.insert(GroupRef::Live(id.to_string()), BTreeSet::new());
    }
    // The files' groups: those they list, and those they give a permission.
    let mut managed_groups: BTreeSet<&str> =
        matched.iter().flatten().map(|g| g.id.as_str()).collect();
    managed_groups.extend(named.iter().filter_map(|(_, _, holder)| match holder {
        StepHolder::Group(GroupRef::Live(id)) => Some(id.as_str()),
        _ => None,
    }));
    for (slot, before) in &held_before {
        let (_, _, holder) = slot;
        let revoked = policy.revoke_unlisted
            && !named.contains(slot)
            && match holder {
                StepHolder::User(id) => policy.users.contains(id),
                StepHolder::Group(GroupRef::Live(id)) => managed_groups.contains(id.as_str()),
                StepHolder::Group(GroupRef::New(_)) => false,
            };
        if (revoked || is_deleted(holder)) && *before > Permission::NoAccess {
            held_after.insert(slot.clone(), Permission::NoAccess);
        }
    }

    // The nodes.
    let mut nodes: Vec<Node> = Vec::new();
    nodes.extend(
        deleted
            .iter()
            .map(|(id, name)| Node::Delete(id.to_string(), name.to_string())),
    );
    for (w, l) in wanted.groups.iter().zip(&matched) {
        match l {
            None => nodes.push(Node::Create(w.name.clone(), w.external_id.clone())),
            Some(l) if l.name != w.name => {
                nodes.push(Node::Rename(l.id.clone(), l.name.clone(), w.name.clone()))
            }
            Some(_) => {}
        }
    }
    for (group, after) in &members_after {
        // A deleted group's members leave with it.
        if is_deleted(&StepHolder::Group(group.clone())) {
            continue;
        }
        let before = &members_before[group];
        nodes.extend(
            after
                .difference(before)
                .map(|u| Node::Add(group.clone(), u.clone())),
        );
        nodes.extend(
            before
                .difference(after)
                .map(|u| Node::Remove(group.clone(), u.clone())),
        );
    }
    for (slot, after) in &held_after {
        let before = held_before
            .get(slot)
            .copied()
            .unwrap_or(Permission::NoAccess);
        if before != *after && !is_deleted(&slot.2) {
            let (entity, on, holder) = slot.clone();
            nodes.push(Node::Set(entity, on, holder, before, *after));
        }
    }

    // What each node raises and lowers, as (user, entity, entity id).
    let grants_of =
        |group: &GroupRef, held: &BTreeMap<Slot, Permission>| -> Vec<(Entity, String)> {
            held.iter()
                .filter(|((_, _, h), p)| {
                    *h == StepHolder::Group(group.clone()) && **p > Permission::NoAccess
                })
                .map(|((e, on, _), _)| (*e, on.clone()))
                .collect()
        };
    let users_of = |holder: &StepHolder,
                    members: &BTreeMap<GroupRef, BTreeSet<String>>|
     -> Vec<String> {
        match holder {
            StepHolder::User(id) => vec![id.clone()],
            StepHolder::Group(group) => members.get(group).into_iter().flatten().cloned().collect(),
        }
    };
    let mut raises: BTreeMap<Reached, Vec<usize>> = BTreeMap::new();
    let mut lowers: Vec<(usize, Vec<Reached>)> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        match node {
            Node::Add(group, user) => {
                for (e, on) in grants_of(group, &held_after) {
                    raises.entry((user.clone(), e, on)).or_default().push(i);
                }
            }
            Node::Remove(group, user) => {
                let lowered = grants_of(group, &held_before)
                    .into_iter()
                    .map(|(e, on)| (user.clone(), e, on))
                    .collect();
                lowers.push((i, lowered));
            }
            Node::Set(e, on, holder, before, after) if after > before => {
                for user in users_of(holder, &members_after) {
                    raises.entry((user, *e, on.clone())).or_default().push(i);
                }
            }
            Node::Set(e, on, holder, ..) => {
                let lowered = users_of(holder, &members_before)
                    .into_iter()
                    .map(|u| (u, *e, on.clone()))
                    .collect();
                lowers.push((i, lowered));
            }
            Node::Delete(id, _) => {
                let group = GroupRef::Live(id.clone());
                let lowered = members_before
                    .get(&group)
                    .into_iter()
                    .flatten()
                    .flat_map(|user| {
                        grants_of(&group, &held_before)
                            .into_iter()
                            .map(move |(e, on)| (user.clone(), e, on))
                    })
                    .collect();
                lowers.push((i, lowered));
            }
            Node::Create(..) | Node::Rename(..) => {}
        }
    }

    // The edges: `waits[b]` holds every node `b` waits for.
    let mut waits: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); nodes.len()];
    let group_of = |node: &Node| -> Option<GroupRef> {
        match node {
            Node::Add(g, _) | Node::Remove(g, _) => Some(g.clone()),
            Node::Delete(id, _) => Some(GroupRef::Live(id.clone())),
            Node::Set(_, _, StepHolder::Group(g), ..) => Some(g.clone()),
            _ => None,
        }
    };
    for (b, node) in nodes.iter().enumerate() {
        // A group this plan creates exists first; a name is free before it is taken again.
        for (a, other) in nodes.iter().enumerate() {
            match (other, node) {
                (Node::Create(name, _), _)
                    if group_of(node) == Some(GroupRef::New(name.clone())) =>
                {
                    waits[b].insert(a);
                }
                (Node::Rename(_, from, _) | Node::Delete(_, from), Node::Create(name, _))
                    if from.eq_ignore_ascii_case(name) =>
                {
                    waits[b].insert(a);
                }
                // Nobody gets a group's old, higher grant by joining it as it is lowered.
                (Node::Set(_, _, StepHolder::Group(g), before, after), Node::Add(h, _))
                    if g == h && after < before =>
                {
                    waits[b].insert(a);
                }
                // A group's raised grant reaches no one who is leaving it.
                (Node::Remove(g, _), Node::Set(_, _, StepHolder::Group(h), before, after))
                    if g == h && after > before =>
                {
                    waits[b].insert(a);
                }
                _ => {}
            }
        }
    }
    // Nobody drops below both ends: a lowering waits for every raise of the same access.
    for (b, lowered) in &lowers {
        for pair in lowered {
            waits[*b].extend(raises.get(pair).into_iter().flatten());
        }
    }

    // Dependency order, earliest kind first (creations and renames, raises, lowerings), each
    // kind in the order the nodes were made.
    let stage = |i: usize| -> u8 {
        match &nodes[i] {
            Node::Create(..) | Node::Rename(..) => 0,
            Node::Add(..) => 1,
            Node::Set(.., before, after) if after > before => 1,
            _ => 2,
        }
    };
    let mut left: Vec<usize> = waits.iter().map(BTreeSet::len).collect();
    let mut ready: BTreeSet<(u8, usize)> = (0..nodes.len())
        .filter(|&i| left[i] == 0)
        .map(|i| (stage(i), i))
        .collect();
    let mut order: Vec<usize> = Vec::with_capacity(nodes.len());
    while let Some((_, i)) = ready.pop_first() {
        order.push(i);
        for (b, w) in waits.iter().enumerate() {
            if w.contains(&i) {
                left[b] -= 1;
                if left[b] == 0 {
                    ready.insert((stage(b), b));
                }
            }
        }
    }
    if order.len() < nodes.len() {
        let stuck: BTreeSet<String> = (0..nodes.len())
            .filter(|i| !order.contains(i))
            .filter_map(|i| group_of(&nodes[i]))
            .map(|g| match g {
                GroupRef::Live(id) => live
                    .groups
                    .iter()
                    .find(|l| l.id == id)
                    .map_or(id, |l| l.name.clone()),
                GroupRef::New(name) => name,
            })
            .collect();
        return Err(vec![format!(
            "the changes to the groups {} wait on each other in a loop; make them in two runs",
            stuck
                .into_iter()
                .map(|g| format!("`{g}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )]);
    }

    // Steps: members added or removed together when they join or leave the same group and wait
    // for the same steps.
    let mut steps: Vec<Planned> = Vec::new();
    let mut step_of: Vec<usize> = vec![usize::MAX; nodes.len()];
    let mut batches: BTreeMap<(bool, GroupRef, Vec<usize>), usize> = BTreeMap::new();
    for &i in &order {
        let depends_on: BTreeSet<usize> = waits[i].iter().map(|a| step_of[*a]).collect();
        let depends_on: Vec<usize> = depends_on.into_iter().collect();
        let member = match &nodes[i] {
            Node::Add(g, u) => Some((true, g, u)),
            Node::Remove(g, u) => Some((false, g, u)),
            _ => None,
        };
        if let Some((adding, group, user)) = member {
            let key = (adding, group.clone(), depends_on.clone());
            if let Some(&at) = batches.get(&key) {
                match &mut steps[at].step {
                    Step::AddMembers { users, .. } | Step::RemoveMembers { users, .. } => {
                        users.push(user.clone());
                    }
                    _ => unreachable!("a batch is a membership step"),
                }
                step_of[i] = at;
                continue;
            }
            batches.insert(key, steps.len());
        }
        let step = match nodes[i].clone() {
            Node::Create(name, external_id) => Step::CreateGroup { name, external_id },
            Node::Rename(id, from, to) => Step::RenameGroup { id, from, to },
            Node::Delete(id, name) => Step::DeleteGroup { id, name },
            Node::Add(group, user) => Step::AddMembers {
                group,
                users: vec![user],
            },
            Node::Remove(group, user) => Step::RemoveMembers {
                group,
                users: vec![user],
            },
            Node::Set(entity, on, holder, before, after) => Step::SetPermission {
                entity,
                on,
                holder,
                before,
                after,
            },
        };
        step_of[i] = steps.len();
        steps.push(Planned { step, depends_on });
    }

    // Effective permissions before and after, for everyone the steps touch.
    let effective = |user: &str,
                     entity: Entity,
                     on: &str,
                     held: &BTreeMap<Slot, Permission>,
                     members: &BTreeMap<GroupRef, BTreeSet<String>>| {
        held.iter()
            .filter(|((e, o, _), _)| *e == entity && o == on)
            .filter(|((_, _, h), _)| match h {
                StepHolder::User(id) => id == user,
                StepHolder::Group(group) => members.get(group).is_some_and(|m| m.contains(user)),
            })
            .map(|(_, p)| *p)
            .max()
            .unwrap_or(Permission::NoAccess)
    };
    let mut touched: BTreeSet<Reached> = raises.keys().cloned().collect();
    touched.extend(lowers.into_iter().flat_map(|(_, lowered)| lowered));
    let effects = touched
        .into_iter()
        .filter_map(|(user, entity, on)| {
            let before = effective(&user, entity, &on, &held_before, &members_before);
            let after = effective(&user, entity, &on, &held_after, &members_after);
            (before != after).then_some(Effect {
                user,
                entity,
                on,
                before,
                after,
            })
        })
        .collect();
    Ok(AccessPlan { steps, effects })
}

/// A permission's place: (entity, entity id, holder).
type Slot = (Entity, String, StepHolder);

/// A person's effective permission on an app or meta site before and after a plan, as plans show
/// it: the user by key, the entity by id and name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessEffect {
    pub user: String,
    #[serde(flatten)]
    pub on: super::AccessOn,
    pub before: String,
    pub after: String,
}

/// Refuses a plan that would lower the `manage` permission of the user the credentials act as:
/// rollcall would lose the right to change who else may use that app or meta site.
pub fn own_access_guard(
    effects: &[AccessEffect],
    live: &crate::model::LiveState,
) -> Vec<super::Blocked> {
    let Some(own) = &live.own_key else {
        return Vec::new();
    };
    effects
        .iter()
        .filter(|e| &e.user == own && e.before == "manage" && e.after != "manage")
        .map(|e| super::Blocked {
            guard: "own-access".into(),
            message: format!(
                "the plan would lower {own}, the user these credentials act as, from `manage` to `{}` on {} `{}`",
                e.after,
                e.on.entity.noun(),
                e.on.name
            ),
            hint: Some(format!(
                "keep `{}: manage` for {own}, directly or through a group",
                e.on.name
            )),
        })
        .collect()
}

/// Access actions for a plan, and the effective changes they make.
pub type AccessActions = (Vec<super::Action>, Vec<AccessEffect>);

/// The access actions of a plan, after the user actions in `users` (whose ids they continue),
/// and the effective changes they make. `None` when the files manage no access. Refused, with
/// every reason, where the account's access was not read, a name resolves to no entity or to
/// several, or the steps cannot be ordered.
///
/// Users are named by key, as everywhere in a plan; the executor turns them into ids. A step
/// for a user this run invites waits for the invite, and one for a user it demotes waits for
/// the demotion.
pub fn actions(
    desired: &crate::model::DesiredState,
    live: &crate::model::LiveState,
    users: &[super::Action],
    protected: &dyn Fn(&str) -> bool,
) -> Result<Option<AccessActions>, Vec<String>> {
    use super::{AccessOn, Action, Change, Op};
    use std::collections::HashMap;
    if scope(desired).is_none() {
        return Ok(None);
    }
    let Some(access) = &live.access else {
        return Err(vec![
            "the account's apps, meta sites and groups were not read".into(),
        ]);
    };
    let wanted = wanted_access(desired, &live.users, access)?;
    let ids: HashMap<&str, &str> = live
        .users
        .iter()
        .map(|u| (u.key.as_str(), u.id.as_str()))
        .collect();
    let policy = AccessPolicy {
        // Protected users, and the one the credentials act as, keep what the files leave out.
        users: desired
            .users
            .iter()
            .filter(|u| u.state != crate::model::vocab::State::Absent)
            .filter(|u| !protected(&u.key) && live.own_key.as_deref() != Some(u.key.as_str()))
            .filter_map(|u| ids.get(u.key.as_str()).map(|id| id.to_string()))
            .collect(),
        revoke_unlisted: desired.policy.unmanaged_permissions
            == crate::model::vocab::UnmanagedPermissions::Revoke,
        delete_unlisted_groups: desired.policy.unmanaged_groups
            == crate::model::vocab::UnmanagedGroups::Delete,
    };
    let planned = plan_access_with(&wanted, access, &policy)?;
    let keys: HashMap<&str, &str> = live
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.key.as_str()))
        .collect();
    // A member the user list does not show keeps its id: the executor passes an id on as it is.
    let key_of = |id: &str| -> String {
        match id.strip_prefix(NEW_USER) {
            Some(key) => key.to_string(),
            None => keys.get(id).map_or(id, |k| *k).to_string(),
        }
    };
    let live_id_of = |id: &str| (!id.starts_with(NEW_USER)).then(|| id.to_string());
    // A live group is shown by the name the files give it, which a rename in this plan sets.
    let group_name = |group: &GroupRef| -> (String, Option<String>) {
        match group {
            GroupRef::New(name) => (name.clone(), None),
            GroupRef::Live(id) => {
                let renamed = planned.steps.iter().find_map(|p| match &p.step {
                    Step::RenameGroup { id: r, to, .. } if r == id => Some(to.clone()),
                    _ => None,
                });
                let name = renamed.or_else(|| {
                    access
                        .groups
                        .iter()
                        .find(|g| g.id == *id)
                        .map(|g| g.name.clone())
                });
                (name.unwrap_or_else(|| id.clone()), Some(id.clone()))
            }
        }
    };
    let entity_of = |entity: Entity, id: &str| AccessOn {
        entity,
        id: id.to_string(),
        name: match entity {
            Entity::App => &access.apps,
            Entity::MetaSite => &access.meta_sites,
        }
        .iter()
        .find(|n| n.id == id)
        .map_or_else(String::new, |n| n.name.clone()),
    };
    // What a step does to a user waits for the user's invite and demotion.
    let mut before_access: HashMap<&str, Vec<usize>> = HashMap::new();
    for action in users
        .iter()
        .filter(|a| matches!(a.op, Op::Create | Op::Demote))
    {
        before_access
            .entry(action.user.as_str())
            .or_default()
            .push(action.id);
    }
    let waits_for_user = |id: &str, depends_on: &mut Vec<usize>| {
        let key = key_of(id);
        depends_on.extend(before_access.get(key.as_str()).into_iter().flatten());
    };
    let base = users.len();
    let mut actions: Vec<Action> = Vec::with_capacity(planned.steps.len());
    for (i, planned_step) in planned.steps.iter().enumerate() {
        let mut depends_on: Vec<usize> = planned_step.depends_on.iter().map(|d| base + d).collect();
        let (op, user, live_id, changes, on) = match &planned_step.step {
            Step::CreateGroup { name, external_id } => {
                let mut changes = vec![Change {
                    attribute: "name".into(),
                    before: None,
                    after: Some(name.clone()),
                }];
                changes.extend(external_id.as_ref().map(|e| Change {
                    attribute: "external_id".into(),
                    before: None,
                    after: Some(e.clone()),
                }));
                (Op::CreateGroup, name.clone(), None, changes, None)
            }
            Step::DeleteGroup { id, name } => (
                Op::DeleteGroup,
                name.clone(),
                Some(id.clone()),
                vec![Change {
                    attribute: "name".into(),
                    before: Some(name.clone()),
                    after: None,
                }],
                None,
            ),
            Step::RenameGroup { id, from, to } => (
                Op::UpdateGroup,
                to.clone(),
                Some(id.clone()),
                vec![Change {
                    attribute: "name".into(),
                    before: Some(from.clone()),
                    after: Some(to.clone()),
                }],
                None,
            ),
            Step::AddMembers { group, users } | Step::RemoveMembers { group, users } => {
                let adding = matches!(planned_step.step, Step::AddMembers { .. });
                let (name, live_id) = group_name(group);
                let mut changes = Vec::with_capacity(users.len());
                for id in users {
                    waits_for_user(id, &mut depends_on);
                    let key = key_of(id);
                    changes.push(Change {
                        attribute: "members".into(),
                        before: (!adding).then(|| key.clone()),
                        after: adding.then_some(key),
                    });
                }
                let op = if adding {
                    Op::AddMembers
                } else {
                    Op::RemoveMembers
                };
                (op, name, live_id, changes, None)
            }
            Step::SetPermission {
                entity,
                on,
                holder,
                before,
                after,
            } => {
                let change = vec![Change {
                    attribute: "permission".into(),
                    before: Some(before.as_str().to_string()),
                    after: Some(after.as_str().to_string()),
                }];
                let on = Some(entity_of(*entity, on));
                match holder {
                    StepHolder::User(id) => {
                        waits_for_user(id, &mut depends_on);
                        (Op::SetPermission, key_of(id), live_id_of(id), change, on)
                    }
                    StepHolder::Group(group) => {
                        let (name, live_id) = group_name(group);
                        (Op::SetGroupPermission, name, live_id, change, on)
                    }
                }
            }
        };
        depends_on.sort_unstable();
        depends_on.dedup();
        actions.push(Action {
            id: base + i,
            op,
            user,
            live_id,
            changes,
            depends_on,
            after_creates: false,
            reason: None,
            unchanged: 0,
            on,
        });
    }
    // Owners hold everything whatever their groups give: nothing changes for them.
    let owners: std::collections::HashSet<&str> = live
        .users
        .iter()
        .filter(|u| u.roles.contains("owner"))
        .map(|u| u.key.as_str())
        .chain(
            desired
                .users
                .iter()
                .filter(|u| u.roles.as_ref().is_some_and(|r| r.contains("owner")))
                .map(|u| u.key.as_str()),
        )
        .collect();
    let mut effects: Vec<AccessEffect> = planned
        .effects
        .iter()
        .filter(|e| !owners.contains(key_of(&e.user).as_str()))
        .map(|e| AccessEffect {
            user: key_of(&e.user),
            on: entity_of(e.entity, &e.on),
            before: e.before.as_str().to_string(),
            after: e.after.as_str().to_string(),
        })
        .collect();
    effects.sort_by(|a, b| {
        (&a.user, a.on.entity, &a.on.name, &a.on.id).cmp(&(
            &b.user,
            b.on.entity,
            &b.on.name,
            &b.on.id,
        ))
    });
    Ok(Some((actions, effects)))
}

/// Refuses a plan that would change the access of a user `policy.protect` names, directly or
/// through a group: protected users are left as they are, and leaving out only part of an
/// access plan could take away what another step was ordered to keep.
pub fn protect_guard(
    actions: &[super::Action],
    effects: &[AccessEffect],
    protected: &dyn Fn(&str) -> bool,
) -> Vec<super::Blocked> {
    let mut touched: BTreeSet<&str> = BTreeSet::new();
    for action in actions {
        match action.op {
            super::Op::SetPermission => {
                touched.insert(&action.user);
            }
            super::Op::AddMembers | super::Op::RemoveMembers => {
                touched.extend(
                    action
                        .changes
                        .iter()
                        .filter_map(|c| c.after.as_deref().or(c.before.as_deref())),
                );
            }
            _ => {}
        }
    }
    touched.extend(effects.iter().map(|e| e.user.as_str()));
    touched
        .into_iter()
        .filter(|key| protected(key))
        .map(|key| super::Blocked {
            guard: "protect".into(),
            message: format!(
                "the plan would change the access of {key}, whom `policy.protect` keeps as they are"
            ),
            hint: Some(format!(
                "leave {key}'s permissions and groups as the account has them, or take them out of `policy.protect`"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::access::LiveGrant;
    use Permission::*;

    /// The permissions on the app `shop` were read.
    fn shop_read() -> BTreeSet<(Entity, String)> {
        BTreeSet::from([(Entity::App, "shop".to_string())])
    }

    fn group(id: &str, name: &str, members: &[&str]) -> LiveGroup {
        LiveGroup {
            id: id.into(),
            name: name.into(),
            external_id: None,
            members: Some(members.iter().map(|m| m.to_string()).collect()),
        }
    }

    fn grant(on: &str, principal: Principal, to: &str, permission: Permission) -> LiveGrant {
        LiveGrant {
            entity: Entity::App,
            on: on.into(),
            principal,
            to: to.into(),
            permission,
        }
    }

    fn want(on: &str, holder: Holder, permission: Permission) -> WantedGrant {
        WantedGrant {
            entity: Entity::App,
            on: on.into(),
            holder,
            permission,
        }
    }

    fn wanted_group(name: &str, members: &[&str]) -> WantedGroup {
        WantedGroup {
            name: name.into(),
            external_id: None,
            former_names: Vec::new(),
            members: Some(members.iter().map(|m| m.to_string()).collect()),
        }
    }

    type Held = BTreeMap<(String, StepHolder), Permission>;
    type Members = BTreeMap<GroupRef, BTreeSet<String>>;

    /// The account as a test models it: permissions by (app, holder), and members by group.
    fn model(live: &LiveAccess) -> (Held, Members) {
        let mut held: Held = BTreeMap::new();
        for g in &live.grants {
            let holder = match g.principal {
                Principal::User => StepHolder::User(g.to.clone()),
                Principal::Group => StepHolder::Group(GroupRef::Live(g.to.clone())),
            };
            held.insert((g.on.clone(), holder), g.permission);
        }
        let members = live
            .groups
            .iter()
            .map(|g| {
                let set = g.members.iter().flatten().cloned().collect();
                (GroupRef::Live(g.id.clone()), set)
            })
            .collect();
        (held, members)
    }

    fn effective(held: &Held, members: &Members, user: &str, on: &str) -> Permission {
        held.iter()
            .filter(|((o, h), _)| {
                o == on
                    && match h {
                        StepHolder::User(u) => u == user,
                        StepHolder::Group(g) => members.get(g).is_some_and(|m| m.contains(user)),
                    }
            })
            .map(|(_, p)| *p)
            .max()
            .unwrap_or(NoAccess)
    }

    /// Carries out the steps in order on the model, failing those in `fail` and skipping
    /// whatever waits on a step that did not run; calls `check` after every step.
    fn simulate(
        live: &LiveAccess,
        plan: &AccessPlan,
        fail: &BTreeSet<usize>,
        mut check: impl FnMut(usize, &Held, &Members),
    ) -> (Held, Members) {
        let (mut held, mut members) = model(live);
        let mut done = vec![false; plan.steps.len()];
        for (i, planned) in plan.steps.iter().enumerate() {
            if fail.contains(&i) || planned.depends_on.iter().any(|d| !done[*d]) {
                continue;
            }
            done[i] = true;
            match &planned.step {
                Step::CreateGroup { name, .. } => {
                    members.insert(GroupRef::New(name.clone()), BTreeSet::new());
                }
                Step::RenameGroup { .. } => {}
                Step::DeleteGroup { id, .. } => {
                    let gone = GroupRef::Live(id.clone());
                    members.remove(&gone);
                    held.retain(|(_, holder), _| *holder != StepHolder::Group(gone.clone()));
                }
                Step::AddMembers { group, users } => {
                    members
                        .entry(group.clone())
                        .or_default()
                        .extend(users.iter().cloned());
                }
                Step::RemoveMembers { group, users } => {
                    let set = members.entry(group.clone()).or_default();
                    for u in users {
                        set.remove(u);
                    }
                }
                Step::SetPermission {
                    on, holder, after, ..
                } => {
                    held.insert((on.clone(), holder.clone()), *after);
                }
            }
            check(i, &held, &members);
        }
        (held, members)
    }

    /// Runs the plan with the steps in `fail` failing, and checks after every step that `users`
    /// hold, on `app`, no less than the lower and no more than the higher of their permission
    /// before the run and after a run with no failure.
    fn run(
        live: &LiveAccess,
        plan: &AccessPlan,
        fail: &BTreeSet<usize>,
        users: &[&str],
        app: &str,
    ) {
        let (held, members) = model(live);
        let (end_held, end_members) = simulate(live, plan, &BTreeSet::new(), |_, _, _| {});
        let bounds: Vec<(&str, Permission, Permission)> = users
            .iter()
            .map(|u| {
                let before = effective(&held, &members, u, app);
                let after = effective(&end_held, &end_members, u, app);
                (*u, before.min(after), before.max(after))
            })
            .collect();
        simulate(live, plan, fail, |i, held, members| {
            for (user, least, most) in &bounds {
                let now = effective(held, members, user, app);
                assert!(
                    now >= *least && now <= *most,
                    "after step {i} with {fail:?} failing, {user} holds {now} on {app}, outside {least} to {most}"
                );
            }
        });
    }

    /// The effects a plan states match what running it does.
    fn check_effects(live: &LiveAccess, plan: &AccessPlan, users: &[&str], app: &str) {
        let (held, members) = model(live);
        let (end_held, end_members) = simulate(live, plan, &BTreeSet::new(), |_, _, _| {});
        let mut changed: Vec<(String, Permission, Permission)> = users
            .iter()
            .map(|u| {
                (
                    u.to_string(),
                    effective(&held, &members, u, app),
                    effective(&end_held, &end_members, u, app),
                )
            })
            .filter(|(_, before, after)| before != after)
            .collect();
        changed.sort();
        let stated: Vec<(String, Permission, Permission)> = plan
            .effects
            .iter()
            .filter(|e| e.on == app)
            .map(|e| (e.user.clone(), e.before, e.after))
            .collect();
        assert_eq!(stated, changed);
    }

    #[test]
    fn apps_are_found_by_a_name_only_they_have_or_by_uuid() {
        let named = |id: &str, name: &str| crate::model::access::Named {
            id: id.into(),
            name: name.into(),
        };
        let live = LiveAccess {
            apps: vec![
                named("a1", "Acme blog"),
                named("a2", "Acme blog"),
                named("a3", "Acme shop"),
            ],
            grants_read: shop_read(),
            ..Default::default()
        };
        let find = |n: EntityName| resolve(Entity::App, &n, &live).map(|n| n.id.clone());
        assert_eq!(find(EntityName::Name("Acme shop".into())), Ok("a3".into()));
        assert_eq!(find(EntityName::Id("A2".into())), Ok("a2".into()));
        assert_eq!(
            find(EntityName::Name("Acme blog".into())),
            Err("2 apps are named `Acme blog`: `a1`, `a2`; name one by its UUID".into())
        );
        assert_eq!(
            find(EntityName::Name("Acme shp".into())),
            Err("no app is named `Acme shp`; did you mean `Acme shop`?".into())
        );
        assert_eq!(
            find(EntityName::Id("a9".into())),
            Err("no app has the id `a9`".into())
        );
        assert_eq!(
            resolve(
                Entity::MetaSite,
                &EntityName::Name("Acme shop".into()),
                &live
            ),
            Err("no meta site is named `Acme shop`".into())
        );
    }

    #[test]
    fn a_move_from_a_direct_grant_to_a_group_never_leaves_anyone_without_access() {
        // Ada holds `edit` on the shop directly; the files move it to a new group.
        let live = LiveAccess {
            grants: vec![grant("shop", Principal::User, "ada", Edit)],
            grants_read: shop_read(),
            ..Default::default()
        };
        let wanted = WantedAccess {
            groups: vec![wanted_group("Editors", &["ada"])],
            grants: vec![
                want("shop", Holder::Group("Editors".into()), Edit),
                want("shop", Holder::User("ada".into()), NoAccess),
            ],
        };
        let plan = plan_access(&wanted, &live).unwrap();
        let editors = GroupRef::New("Editors".into());
        assert_eq!(
            plan.steps,
            [
                Planned {
                    step: Step::CreateGroup {
                        name: "Editors".into(),
                        external_id: None
                    },
                    depends_on: vec![],
                },
                Planned {
                    step: Step::AddMembers {
                        group: editors.clone(),
                        users: vec!["ada".into()]
                    },
                    depends_on: vec![0],
                },
                Planned {
                    step: Step::SetPermission {
                        entity: Entity::App,
                        on: "shop".into(),
                        holder: StepHolder::Group(editors),
                        before: NoAccess,
                        after: Edit,
                    },
                    depends_on: vec![0],
                },
                Planned {
                    step: Step::SetPermission {
                        entity: Entity::App,
                        on: "shop".into(),
                        holder: StepHolder::User("ada".into()),
                        before: Edit,
                        after: NoAccess,
                    },
                    depends_on: vec![1, 2],
                },
            ]
        );
        assert!(
            plan.effects.is_empty(),
            "ada's effective permission stays `edit`: {:?}",
            plan.effects
        );
        for fail in [
            BTreeSet::new(),
            BTreeSet::from([0]),
            BTreeSet::from([1]),
            BTreeSet::from([2]),
        ] {
            run(&live, &plan, &fail, &["ada"], "shop");
        }
    }

    #[test]
    fn the_reverse_move_and_a_member_leaving_keep_the_order_too() {
        // Bob edits through Marketing; the files give him `view` directly and take him out.
        let live = LiveAccess {
            groups: vec![group("g1", "Marketing", &["ada", "bob"])],
            grants: vec![grant("shop", Principal::Group, "g1", Edit)],
            grants_read: shop_read(),
            ..Default::default()
        };
        let wanted = WantedAccess {
            groups: vec![wanted_group("Marketing", &["ada"])],
            grants: vec![want("shop", Holder::User("bob".into()), View)],
        };
        let plan = plan_access(&wanted, &live).unwrap();
        assert_eq!(
            plan.effects,
            [Effect {
                user: "bob".into(),
                entity: Entity::App,
                on: "shop".into(),
                before: Edit,
                after: View
            }]
        );
        let removal = plan
            .steps
            .iter()
            .position(|p| matches!(p.step, Step::RemoveMembers { .. }))
            .unwrap();
        let raise = plan
            .steps
            .iter()
            .position(|p| matches!(p.step, Step::SetPermission { after: View, .. }))
            .unwrap();
        assert!(raise < removal && plan.steps[removal].depends_on.contains(&raise));
        for fail in [BTreeSet::new(), BTreeSet::from([raise])] {
            run(&live, &plan, &fail, &["ada", "bob"], "shop");
        }
        check_effects(&live, &plan, &["ada", "bob"], "shop");
    }

    #[test]
    fn a_rename_keeps_the_group_and_its_grants() {
        let live = LiveAccess {
            groups: vec![group("g1", "Marketing", &["ada"])],
            grants: vec![grant("shop", Principal::Group, "g1", Edit)],
            grants_read: shop_read(),
            ..Default::default()
        };
        let mut growth = wanted_group("Growth", &["ada"]);
        growth.former_names = vec!["marketing".into()];
        let wanted = WantedAccess {
            groups: vec![growth],
            grants: vec![want("shop", Holder::Group("Growth".into()), Edit)],
        };
        let plan = plan_access(&wanted, &live).unwrap();
        assert_eq!(
            plan.steps,
            [Planned {
                step: Step::RenameGroup {
                    id: "g1".into(),
                    from: "Marketing".into(),
                    to: "Growth".into()
                },
                depends_on: vec![],
            }]
        );
        assert!(plan.effects.is_empty());
    }

    #[test]
    fn groups_whose_members_the_files_leave_alone_keep_them() {
        let live = LiveAccess {
            groups: vec![group("g1", "Okta admins", &["ada", "bob"])],
            grants_read: shop_read(),
            ..Default::default()
        };
        let mut idp = wanted_group("Okta admins", &[]);
        idp.members = None;
        let wanted = WantedAccess {
            groups: vec![idp],
            grants: vec![want("shop", Holder::Group("Okta admins".into()), View)],
        };
        let plan = plan_access(&wanted, &live).unwrap();
        assert_eq!(plan.steps.len(), 1, "{:?}", plan.steps);
        assert_eq!(
            plan.effects
                .iter()
                .map(|e| e.user.as_str())
                .collect::<Vec<_>>(),
            ["ada", "bob"]
        );
    }

    /// Every move between two holders, over every pair of permissions, for one user: no run,
    /// with any one step failing, leaves them below both their before and their after.
    #[test]
    fn no_order_of_failures_lowers_anyone_below_both_ends() {
        let levels = [NoAccess, View, Edit, EditPublish, Manage];
        for direct_before in levels {
            for group_before in levels {
                for direct_after in levels {
                    for group_after in levels {
                        for (in_before, in_after) in [(true, true), (true, false), (false, true)] {
                            let mut grants = Vec::new();
                            if direct_before > NoAccess {
                                grants.push(grant("shop", Principal::User, "ada", direct_before));
                            }
                            if group_before > NoAccess {
                                grants.push(grant("shop", Principal::Group, "g1", group_before));
                            }
                            let members: &[&str] = if in_before { &["ada"] } else { &[] };
                            let live = LiveAccess {
                                groups: vec![group("g1", "Team", members)],
                                grants,
                                grants_read: shop_read(),
                                ..Default::default()
                            };
                            let members: &[&str] = if in_after { &["ada"] } else { &[] };
                            let wanted = WantedAccess {
                                groups: vec![wanted_group("Team", members)],
                                grants: vec![
                                    want("shop", Holder::User("ada".into()), direct_after),
                                    want("shop", Holder::Group("Team".into()), group_after),
                                ],
                            };
                            let plan = plan_access(&wanted, &live).unwrap();
                            check_effects(&live, &plan, &["ada"], "shop");
                            run(&live, &plan, &BTreeSet::new(), &["ada"], "shop");
                            for i in 0..plan.steps.len() {
                                run(&live, &plan, &BTreeSet::from([i]), &["ada"], "shop");
                            }
                        }
                    }
                }
            }
        }
    }

    /// Two people and one group, over every permission each may hold directly or through the
    /// group, joining, leaving or staying: nobody ever holds less than the lower, or more than
    /// the higher, of their before and after, whichever single step fails.
    #[test]
    fn no_one_joining_or_leaving_a_changing_group_goes_outside_both_ends() {
        let levels = [NoAccess, View, Manage];
        let memberships = [(true, true), (true, false), (false, true), (false, false)];
        for group_before in levels {
            for group_after in levels {
                for ada in levels
                    .iter()
                    .flat_map(|b| levels.iter().map(move |a| (*b, *a)))
                {
                    for bob in levels
                        .iter()
                        .flat_map(|b| levels.iter().map(move |a| (*b, *a)))
                    {
                        for (ada_in, bob_in) in memberships
                            .iter()
                            .flat_map(|a| memberships.iter().map(move |b| (*a, *b)))
                        {
                            let mut grants = Vec::new();
                            for (user, (before, _)) in [("ada", ada), ("bob", bob)] {
                                if before > NoAccess {
                                    grants.push(grant("shop", Principal::User, user, before));
                                }
                            }
                            if group_before > NoAccess {
                                grants.push(grant("shop", Principal::Group, "g1", group_before));
                            }
                            let before: Vec<&str> = [("ada", ada_in.0), ("bob", bob_in.0)]
                                .iter()
                                .filter(|(_, inside)| *inside)
                                .map(|(u, _)| *u)
                                .collect();
                            let after: Vec<&str> = [("ada", ada_in.1), ("bob", bob_in.1)]
                                .iter()
                                .filter(|(_, inside)| *inside)
                                .map(|(u, _)| *u)
                                .collect();
                            let live = LiveAccess {
                                groups: vec![group("g1", "Team", &before)],
                                grants,
                                grants_read: shop_read(),
                                ..Default::default()
                            };
                            let wanted = WantedAccess {
                                groups: vec![wanted_group("Team", &after)],
                                grants: vec![
                                    want("shop", Holder::User("ada".into()), ada.1),
                                    want("shop", Holder::User("bob".into()), bob.1),
                                    want("shop", Holder::Group("Team".into()), group_after),
                                ],
                            };
                            let plan = plan_access(&wanted, &live).unwrap();
                            check_effects(&live, &plan, &["ada", "bob"], "shop");
                            for i in 0..=plan.steps.len() {
                                run(&live, &plan, &BTreeSet::from([i]), &["ada", "bob"], "shop");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_plan_on_what_was_not_read_or_does_not_exist_is_refused() {
        let mut unread = group("g1", "Team", &[]);
        unread.members = None;
        let live = LiveAccess {
            groups: vec![unread],
            grants: vec![grant("shop", Principal::Group, "g1", View)],
            grants_read: shop_read(),
            ..Default::default()
        };
        let wanted = WantedAccess {
            groups: Vec::new(),
            grants: vec![
                want("blog", Holder::User("ada".into()), View),
                want("shop", Holder::Group("Typo".into()), View),
                want("shop", Holder::User("ada".into()), Edit),
            ],
        };
        assert_eq!(
            plan_access(&wanted, &live).unwrap_err(),
            [
                "no group is named `Typo`, in the files or the account",
                "the members of the group `Team` were not read",
                "the permissions on app `blog` were not read",
            ]
        );
    }

    #[test]
    fn each_live_group_is_one_wanted_group_at_most() {
        let live = LiveAccess {
            groups: vec![group("g1", "Marketing", &["ada"])],
            grants_read: shop_read(),
            ..Default::default()
        };
        let mut growth = wanted_group("Growth", &["ada"]);
        growth.former_names = vec!["Marketing".into()];
        let wanted = WantedAccess {
            groups: vec![growth, wanted_group("Marketing", &["ada"])],
            grants: Vec::new(),
        };
        // `Marketing` keeps its group (an exact name is a closer match than a former name), and
        // `Growth` is created.
        let plan = plan_access(&wanted, &live).unwrap();
        let created: Vec<&Step> = plan
            .steps
            .iter()
            .map(|p| &p.step)
            .filter(|s| matches!(s, Step::CreateGroup { .. } | Step::RenameGroup { .. }))
            .collect();
        assert_eq!(
            created,
            [&Step::CreateGroup {
                name: "Growth".into(),
                external_id: None
            }]
        );
    }

    #[test]
    fn a_group_is_not_created_under_a_name_another_group_keeps() {
        let mut okta = group("g1", "Admins", &[]);
        okta.external_id = Some("okta-1".into());
        let mut renamed = group("g2", "Old", &[]);
        renamed.external_id = Some("e-2".into());
        let live = LiveAccess {
            groups: vec![okta, renamed.clone()],
            grants_read: shop_read(),
            ..Default::default()
        };
        let mut admins = wanted_group("admins", &[]);
        admins.external_id = Some("azure-7".into());
        // A group without an external id is the live group of its name, whatever its id there.
        let wanted = WantedAccess {
            groups: vec![admins, wanted_group("Old", &[])],
            grants: Vec::new(),
        };
        assert_eq!(
            plan_access(&wanted, &live).unwrap_err(),
            [
                "the group `admins` cannot be created: the group `Admins` has that name, with the external id `okta-1`; give the new group another name, or let the old one go in a run of its own"
            ]
        );
        // Where the group under that name is renamed away (its external id says it is `New`),
        // the name is free for the group created after it.
        let mut new = wanted_group("New", &[]);
        new.external_id = Some("e-2".into());
        let wanted = WantedAccess {
            groups: vec![new, wanted_group("Old", &[])],
            grants: Vec::new(),
        };
        let live = LiveAccess {
            groups: vec![renamed],
            grants_read: shop_read(),
            ..Default::default()
        };
        let steps: Vec<Step> = plan_access(&wanted, &live)
            .unwrap()
            .steps
            .into_iter()
            .map(|p| p.step)
            .collect();
        assert_eq!(
            steps,
            [
                Step::RenameGroup {
                    id: "g2".into(),
                    from: "Old".into(),
                    to: "New".into()
                },
                Step::CreateGroup {
                    name: "Old".into(),
                    external_id: None
                },
            ]
        );
    }

    #[test]
    fn the_members_of_a_provisioned_group_are_left_to_the_identity_provider() {
        let mut okta = group("g1", "Admins", &["ada"]);
        okta.external_id = Some("okta-1".into());
        let live = LiveAccess {
            groups: vec![okta],
            grants_read: shop_read(),
            ..Default::default()
        };
        let same = WantedAccess {
            groups: vec![wanted_group("Admins", &["ada"])],
            grants: vec![want("shop", Holder::Group("Admins".into()), View)],
        };
        assert_eq!(plan_access(&same, &live).unwrap().steps.len(), 1);
        let other = WantedAccess {
            groups: vec![wanted_group("Admins", &["ada", "bob"])],
            grants: Vec::new(),
        };
        assert_eq!(
            plan_access(&other, &live).unwrap_err(),
            [
                "the members of the group `Admins` come from the identity provider (external id `okta-1`); the files may manage its permissions only"
            ]
        );
    }

    #[test]
    fn under_the_policies_what_the_files_leave_out_is_revoked_or_deleted() {
        let mut live = LiveAccess {
            groups: vec![
                group("g1", "Old team", &["ada", "bob"]),
                group("g2", "Kept", &["bob"]),
                group("g3", "Named", &[]),
            ],
            grants: vec![
                grant("shop", Principal::Group, "g1", Edit),
                grant("shop", Principal::Group, "g2", View),
                grant("shop", Principal::Group, "g3", View),
                grant("shop", Principal::User, "ada", Manage),
                grant("shop", Principal::User, "carol", View),
            ],
            grants_read: shop_read(),
            ..Default::default()
        };
        live.groups[0].external_id = Some("x-1".into());
        let policy = AccessPolicy {
            users: ["ada".to_string(), "bob".to_string()].into(),
            revoke_unlisted: true,
            delete_unlisted_groups: true,
        };
        // A group the files list, even only to give it a permission, is never deleted.
        let listed = WantedAccess {
            groups: vec![wanted_group("Kept", &["bob"])],
            grants: vec![
                want("shop", Holder::Group("Kept".into()), View),
                want("shop", Holder::Group("Named".into()), View),
                want("shop", Holder::Group("Old team".into()), Edit),
                want("shop", Holder::User("ada".into()), Manage),
            ],
        };
        assert!(
            plan_access_with(&listed, &live, &policy)
                .unwrap()
                .steps
                .is_empty()
        );
        // A new group may not take the name of one the policy deletes: the server would refuse
        // it until the old one is gone, and the old one waits for the new one's grants.
        let mut same_name = wanted_group("old TEAM", &[]);
        same_name.external_id = Some("x-2".into());
        let clash = WantedAccess {
            groups: vec![same_name],
            grants: Vec::new(),
        };
        assert_eq!(
            plan_access_with(&clash, &live, &policy).unwrap_err(),
            [
                "the group `old TEAM` cannot be created: the group `Old team` has that name, with the external id `x-1`; give the new group another name, or let the old one go in a run of its own"
            ]
        );
        // `Old team` is left out and deleted. `Kept` gains ada and an `edit` grant before the
        // old team goes, so ada and bob keep `edit` throughout; ada's direct `manage`, left out,
        // is revoked only after. Carol is in no file, and keeps hers.
        let mut fresh = wanted_group("New team", &[]);
        fresh.external_id = Some("x-2".into());
        let wanted = WantedAccess {
            groups: vec![wanted_group("Kept", &["ada", "bob"]), fresh],
            grants: vec![
                want("shop", Holder::Group("Kept".into()), Edit),
                want("shop", Holder::Group("Named".into()), View),
            ],
        };
        let plan = plan_access_with(&wanted, &live, &policy).unwrap();
        let steps: Vec<&Step> = plan.steps.iter().map(|p| &p.step).collect();
        let at = |wanted: &Step| {
            steps
                .iter()
                .position(|s| *s == wanted)
                .unwrap_or_else(|| panic!("{wanted:?} in {steps:?}"))
        };
        let delete = at(&Step::DeleteGroup {
            id: "g1".into(),
            name: "Old team".into(),
        });
        at(&Step::CreateGroup {
            name: "New team".into(),
            external_id: Some("x-2".into()),
        });
        let join = at(&Step::AddMembers {
            group: GroupRef::Live("g2".into()),
            users: vec!["ada".into()],
        });
        let raise = at(&Step::SetPermission {
            entity: Entity::App,
            on: "shop".into(),
            holder: StepHolder::Group(GroupRef::Live("g2".into())),
            before: View,
            after: Edit,
        });
        let revoke = at(&Step::SetPermission {
            entity: Entity::App,
            on: "shop".into(),
            holder: StepHolder::User("ada".into()),
            before: Manage,
            after: NoAccess,
        });
        assert!(plan.steps[delete].depends_on.contains(&join));
        assert!(plan.steps[delete].depends_on.contains(&raise));
        assert!(plan.steps[revoke].depends_on.contains(&raise));
        assert_eq!(steps.len(), 5, "{steps:?}");
        check_effects(&live, &plan, &["ada", "bob", "carol"], "shop");
        run(
            &live,
            &plan,
            &BTreeSet::new(),
            &["ada", "bob", "carol"],
            "shop",
        );
        for i in 0..plan.steps.len() {
            run(
                &live,
                &plan,
                &BTreeSet::from([i]),
                &["ada", "bob", "carol"],
                "shop",
            );
        }
    }
}
