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

/// How the files name an app or meta site: by its name, or pinned by its UUID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntityName {
    Name(String),
    Id(String),
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

/// A user's access on one app or meta site: (user id, entity, entity id).
type Reached = (String, Entity, String);

/// Which live group each wanted group is, by external id, then name, then a former name.
fn match_groups<'l>(wanted: &[WantedGroup], live: &'l [LiveGroup]) -> Vec<Option<&'l LiveGroup>> {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    wanted
        .iter()
        .map(|w| {
            let by_external = w.external_id.as_ref().and_then(|e| {
                live.iter()
                    .find(|l| l.external_id.as_deref() == Some(e.as_str()))
            });
            by_external
                .or_else(|| live.iter().find(|l| same(&l.name, &w.name)))
                .or_else(|| {
                    live.iter()
                        .find(|l| w.former_names.iter().any(|f| same(f, &l.name)))
                })
        })
        .collect()
}

/// Plans the steps from `live` to `wanted`. Groups, members and permissions the files do not
/// list are left as they are.
pub fn plan_access(wanted: &WantedAccess, live: &LiveAccess) -> AccessPlan {
    let matched = match_groups(&wanted.groups, &live.groups);
    // A group by its name in the files: one they manage, else one the account has.
    let reference = |name: &str| -> Option<GroupRef> {
        match wanted.groups.iter().position(|g| g.name == name) {
            Some(i) => Some(match matched[i] {
                Some(group) => GroupRef::Live(group.id.clone()),
                None => GroupRef::New(name.to_string()),
            }),
            None => live
                .groups
                .iter()
                .find(|g| g.name.eq_ignore_ascii_case(name))
                .map(|g| GroupRef::Live(g.id.clone())),
        }
    };
    // Members before and after, by group.
    let mut members_before: BTreeMap<GroupRef, BTreeSet<String>> = BTreeMap::new();
    let mut members_after: BTreeMap<GroupRef, BTreeSet<String>> = BTreeMap::new();
    for group in &live.groups {
        let members: BTreeSet<String> = group.members.iter().flatten().cloned().collect();
        members_before.insert(GroupRef::Live(group.id.clone()), members.clone());
        members_after.insert(GroupRef::Live(group.id.clone()), members);
    }
    for (w, live_group) in wanted.groups.iter().zip(&matched) {
        let key = reference(&w.name).expect("a wanted group");
        if live_group.is_none() {
            members_before.insert(key.clone(), BTreeSet::new());
        }
        let after = match &w.members {
            Some(members) => members.clone(),
            None => members_before.get(&key).cloned().unwrap_or_default(),
        };
        members_after.insert(key, after);
    }
    // Permissions before and after, by (entity, on, holder).
    type Slot = (Entity, String, StepHolder);
    let mut held_before: BTreeMap<Slot, Permission> = BTreeMap::new();
    for grant in &live.grants {
        let holder = match grant.principal {
            Principal::User => StepHolder::User(grant.to.clone()),
            Principal::Group => StepHolder::Group(GroupRef::Live(grant.to.clone())),
        };
        held_before.insert((grant.entity, grant.on.clone(), holder), grant.permission);
    }
    let mut held_after = held_before.clone();
    for grant in &wanted.grants {
        let holder = match &grant.holder {
            Holder::User(id) => StepHolder::User(id.clone()),
            Holder::Group(name) => match reference(name) {
                Some(group) => StepHolder::Group(group),
                None => continue,
            },
        };
        held_after.insert((grant.entity, grant.on.clone(), holder), grant.permission);
    }

    let mut steps: Vec<Planned> = Vec::new();
    let mut created: BTreeMap<GroupRef, usize> = BTreeMap::new();
    for (w, live_group) in wanted.groups.iter().zip(&matched) {
        match live_group {
            None => {
                created.insert(GroupRef::New(w.name.clone()), steps.len());
                steps.push(Planned {
                    step: Step::CreateGroup {
                        name: w.name.clone(),
                        external_id: w.external_id.clone(),
                    },
                    depends_on: Vec::new(),
                });
            }
            Some(group) if group.name != w.name => steps.push(Planned {
                step: Step::RenameGroup {
                    id: group.id.clone(),
                    from: group.name.clone(),
                    to: w.name.clone(),
                },
                depends_on: Vec::new(),
            }),
            Some(_) => {}
        }
    }
    let needs = |group: &GroupRef| created.get(group).copied().into_iter().collect::<Vec<_>>();

    // Who a step can raise or lower, as (user, entity, on), to link each lowering to the raises
    // it must wait for.
    let granted_on =
        |group: &GroupRef, held: &BTreeMap<Slot, Permission>| -> Vec<(Entity, String)> {
            held.iter()
                .filter(|((_, _, h), p)| {
                    *h == StepHolder::Group(group.clone()) && **p > Permission::NoAccess
                })
                .map(|((e, on, _), _)| (*e, on.clone()))
                .collect()
        };
    let mut raises: BTreeMap<Reached, Vec<usize>> = BTreeMap::new();
    let mut lowerings: Vec<(Planned, Vec<Reached>)> = Vec::new();

    for (group, after) in &members_after {
        let before = &members_before[group];
        let added: Vec<String> = after.difference(before).cloned().collect();
        let removed: Vec<String> = before.difference(after).cloned().collect();
        if !added.is_empty() {
            let at = steps.len();
            for user in &added {
                for (entity, on) in granted_on(group, &held_after) {
                    raises
                        .entry((user.clone(), entity, on))
                        .or_default()
                        .push(at);
                }
            }
            steps.push(Planned {
                step: Step::AddMembers {
                    group: group.clone(),
                    users: added,
                },
                depends_on: needs(group),
            });
        }
        if !removed.is_empty() {
            let lowered = removed
                .iter()
                .flat_map(|u| {
                    granted_on(group, &held_before)
                        .into_iter()
                        .map(move |(e, on)| (u.clone(), e, on))
                })
                .collect();
            lowerings.push((
                Planned {
                    step: Step::RemoveMembers {
                        group: group.clone(),
                        users: removed,
                    },
                    depends_on: Vec::new(),
                },
                lowered,
            ));
        }
    }
    let affected = |holder: &StepHolder,
                    members: &BTreeMap<GroupRef, BTreeSet<String>>|
     -> Vec<String> {
        match holder {
            StepHolder::User(id) => vec![id.clone()],
            StepHolder::Group(group) => members.get(group).into_iter().flatten().cloned().collect(),
        }
    };
    for ((entity, on, holder), after) in &held_after {
        let before = held_before
            .get(&(*entity, on.clone(), holder.clone()))
            .copied()
            .unwrap_or(Permission::NoAccess);
        if before == *after {
            continue;
        }
        let depends_on = match holder {
            StepHolder::Group(group) => needs(group),
            StepHolder::User(_) => Vec::new(),
        };
        let step = Planned {
            step: Step::SetPermission {
                entity: *entity,
                on: on.clone(),
                holder: holder.clone(),
                before,
                after: *after,
            },
            depends_on,
        };
        if after > &before {
            let at = steps.len();
            for user in affected(holder, &members_after) {
                raises
                    .entry((user, *entity, on.clone()))
                    .or_default()
                    .push(at);
            }
            steps.push(step);
        } else {
            let lowered = affected(holder, &members_before)
                .into_iter()
                .map(|u| (u, *entity, on.clone()))
                .collect();
            lowerings.push((step, lowered));
        }
    }
    for (mut planned, lowered) in lowerings {
        let mut waits: BTreeSet<usize> = planned.depends_on.iter().copied().collect();
        for pair in &lowered {
            waits.extend(raises.get(pair).into_iter().flatten());
        }
        planned.depends_on = waits.into_iter().collect();
        steps.push(planned);
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
    for planned in &steps {
        if let Step::SetPermission {
            entity, on, holder, ..
        } = &planned.step
        {
            for user in affected(holder, &members_before)
                .into_iter()
                .chain(affected(holder, &members_after))
            {
                touched.insert((user, *entity, on.clone()));
            }
        }
        if let Step::RemoveMembers { group, users } = &planned.step {
            for user in users {
                for (entity, on) in granted_on(group, &held_before) {
                    touched.insert((user.clone(), entity, on));
                }
            }
        }
    }
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
    AccessPlan { steps, effects }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::access::LiveGrant;
    use Permission::*;

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
    /// hold at least the lower of their permission before the run and after a run with no
    /// failure, on `app`.
    fn run(
        live: &LiveAccess,
        plan: &AccessPlan,
        fail: &BTreeSet<usize>,
        users: &[&str],
        app: &str,
    ) {
        let (held, members) = model(live);
        let (end_held, end_members) = simulate(live, plan, &BTreeSet::new(), |_, _, _| {});
        let floor: Vec<(&str, Permission)> = users
            .iter()
            .map(|u| {
                let before = effective(&held, &members, u, app);
                let after = effective(&end_held, &end_members, u, app);
                (*u, before.min(after))
            })
            .collect();
        simulate(live, plan, fail, |i, held, members| {
            for (user, least) in &floor {
                let now = effective(held, members, user, app);
                assert!(
                    now >= *least,
                    "after step {i} with {fail:?} failing, {user} holds {now} on {app}, less than {least}"
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
            ..Default::default()
        };
        let wanted = WantedAccess {
            groups: vec![wanted_group("Editors", &["ada"])],
            grants: vec![
                want("shop", Holder::Group("Editors".into()), Edit),
                want("shop", Holder::User("ada".into()), NoAccess),
            ],
        };
        let plan = plan_access(&wanted, &live);
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
            ..Default::default()
        };
        let wanted = WantedAccess {
            groups: vec![wanted_group("Marketing", &["ada"])],
            grants: vec![want("shop", Holder::User("bob".into()), View)],
        };
        let plan = plan_access(&wanted, &live);
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
            ..Default::default()
        };
        let mut growth = wanted_group("Growth", &["ada"]);
        growth.former_names = vec!["marketing".into()];
        let wanted = WantedAccess {
            groups: vec![growth],
            grants: vec![want("shop", Holder::Group("Growth".into()), Edit)],
        };
        let plan = plan_access(&wanted, &live);
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
            ..Default::default()
        };
        let mut idp = wanted_group("Okta admins", &[]);
        idp.members = None;
        let wanted = WantedAccess {
            groups: vec![idp],
            grants: vec![want("shop", Holder::Group("Okta admins".into()), View)],
        };
        let plan = plan_access(&wanted, &live);
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
                            let plan = plan_access(&wanted, &live);
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
}
