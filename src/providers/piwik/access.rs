//! Reading and changing Piwik PRO access: apps, meta sites, user groups with their members, and
//! the user and group permissions on apps and meta sites (`apis.md` §7).
//!
//! Lists are read a thousand rows a page, whatever the service's default of ten. Only the fields
//! rollcall relies on are read: a user row's `group_permissions`, whose shape accounts differ on
//! (an object, `null` or `[]`), is never needed, since a user's effective permission is worked
//! out from the groups' own grants and members. A permission outside the API's values fails the
//! read, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::Piwik;
use super::wire::USER_TYPE;
use crate::model::access::{
    Entity, LiveAccess, LiveGrant, LiveGroup, Named, Permission, Principal,
};
use crate::plan::access::{GroupRef, Step, StepHolder};
use crate::plan::{Action, Op};
use crate::providers::ProviderError;
use crate::providers::http::Kind;

/// The resource type of a user group.
const GROUP_TYPE: &str = "ppms/user-group";

/// Which apps' and meta sites' permissions, and which groups' members, a read covers. Apps,
/// meta sites and groups themselves are always listed in full: their names are how files refer
/// to them.
pub struct Reach<'a> {
    /// Whether to read the user and group permissions on this app or meta site.
    pub grants: &'a (dyn Fn(Entity, &Named) -> bool + Sync),
    /// Whether to read the members of the group of this name.
    pub members: &'a (dyn Fn(&str) -> bool + Sync),
}

impl Reach<'static> {
    /// Everything: every permission and every membership.
    pub const EVERYTHING: Reach<'static> = Reach {
        grants: &|_, _| true,
        members: &|_| true,
    };
}

#[derive(Deserialize)]
struct Row<A> {
    id: String,
    attributes: A,
}

#[derive(Deserialize)]
struct Name {
    name: String,
}

#[derive(Deserialize)]
struct GroupAttributes {
    name: String,
    #[serde(default)]
    external_id: Option<String>,
}

#[derive(Deserialize)]
struct Held {
    permission: String,
}

#[derive(Deserialize)]
struct Member {}

fn named(row: Row<Name>) -> Result<Named, ProviderError> {
    Ok(Named {
        id: row.id,
        name: row.attributes.name,
    })
}

fn group(row: Row<GroupAttributes>) -> Result<LiveGroup, ProviderError> {
    Ok(LiveGroup {
        id: row.id,
        name: row.attributes.name,
        external_id: row.attributes.external_id.filter(|e| !e.is_empty()),
        members: None,
    })
}

fn member(row: Row<Member>) -> Result<String, ProviderError> {
    Ok(row.id)
}

/// A permission row, with the permission checked against the entity's values.
fn held(entity: Entity) -> super::Parse<Row<Held>, (String, Permission)> {
    fn check(row: Row<Held>, entity: Entity) -> Result<(String, Permission), ProviderError> {
        match Permission::parse_for(&row.attributes.permission, entity) {
            Some(permission) => Ok((row.id, permission)),
            None => Err(ProviderError::Protocol(format!(
                "Piwik PRO answered the permission `{}` for `{}` on a {}, which is none of the {}'s values",
                crate::escape::visible(&row.attributes.permission),
                crate::escape::visible(&row.id),
                entity.noun(),
                entity.noun(),
            ))),
        }
    }
    match entity {
        Entity::App => |row| check(row, Entity::App),
        Entity::MetaSite => |row| check(row, Entity::MetaSite),
    }
}

fn sort_named(list: &mut [Named]) {
    list.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
}

impl Piwik {
    /// Apps, meta sites and groups in full, then the permissions and memberships `reach` asks
    /// for: one paged read per app or meta site for user grants and one for group grants, and
    /// one per group for its members.
    pub async fn read_access(
        self: &Arc<Self>,
        reach: &Reach<'_>,
    ) -> Result<LiveAccess, ProviderError> {
        let (mut apps, mut meta_sites, mut groups) = tokio::try_join!(
            self.list_all("/api/apps/v2", &[], "apps", named, |n: &Named| &n.id),
            self.list_all(
                "/api/meta-sites/v1",
                &[],
                "meta sites",
                named,
                |n: &Named| &n.id,
            ),
            self.list_all(
                "/api/user-groups/v1",
                &[],
                "user groups",
                group,
                |g: &LiveGroup| &g.id,
            ),
        )?;
        sort_named(&mut apps);
        sort_named(&mut meta_sites);
        groups.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));

        // One paged read per entity and kind of holder, and one per group, a few at a time.
        let mut jobs: Vec<(Entity, String, Principal)> = Vec::new();
        for (entity, named) in apps
            .iter()
            .map(|a| (Entity::App, a))
            .chain(meta_sites.iter().map(|m| (Entity::MetaSite, m)))
            .filter(|(entity, named)| (reach.grants)(*entity, named))
        {
            // Ids go into paths only once checked to be plain.
            path_id(&named.id)?;
            for principal in [Principal::User, Principal::Group] {
                jobs.push((entity, named.id.clone(), principal));
            }
        }
        let grants_read: BTreeSet<(Entity, String)> =
            jobs.iter().map(|(e, on, _)| (*e, on.clone())).collect();
        let this = self.clone();
        let shared = Arc::new(jobs);
        let jobs = shared.clone();
        let mut grants = crate::providers::fetch_pages(0..shared.len() as u64, move |index| {
            let (this, jobs) = (this.clone(), jobs.clone());
            async move {
                let (entity, on, principal) = jobs[index as usize].clone();
                let who = match principal {
                    Principal::User => "user",
                    Principal::Group => "user-group",
                };
                let path = format!(
                    "/api/access-control/v2/{}/{on}/permission/{who}",
                    entity_segment(entity)
                );
                let rows = this
                    .list_all(
                        &path,
                        &[],
                        "permissions",
                        held(entity),
                        |r: &(String, Permission)| &r.0,
                    )
                    .await?;
                Ok(rows
                    .into_iter()
                    .filter(|(_, permission)| *permission != Permission::NoAccess)
                    .map(|(to, permission)| LiveGrant {
                        entity,
                        on: on.clone(),
                        principal,
                        to,
                        permission,
                    })
                    .collect())
            }
        })
        .await?;
        grants.sort();

        let wanted: Vec<(usize, String)> = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| (reach.members)(&g.name))
            .map(|(i, g)| Ok((i, path_id(&g.id)?.to_string())))
            .collect::<Result<_, ProviderError>>()?;
        let this = self.clone();
        let shared = Arc::new(wanted);
        let wanted = shared.clone();
        let read = crate::providers::fetch_pages(0..shared.len() as u64, move |index| {
            let (this, wanted) = (this.clone(), wanted.clone());
            async move {
                let (at, id) = wanted[index as usize].clone();
                let path = format!("/api/user-groups/v1/{id}/users");
                let mut members = this
                    .list_all(&path, &[], "group members", member, |m: &String| m)
                    .await?;
                members.sort();
                Ok(vec![(at, members)])
            }
        })
        .await?;
        for (at, members) in read {
            groups[at].members = Some(members);
        }
        Ok(LiveAccess {
            apps,
            meta_sites,
            groups,
            grants,
            grants_read,
        })
    }
}

/// An id the service gave, checked to be safe in a URL path: letters, digits and dashes.
fn path_id(id: &str) -> Result<&str, ProviderError> {
    if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(id)
    } else {
        Err(ProviderError::Protocol(format!(
            "Piwik PRO answered the id `{}`, which is not one rollcall puts in a URL",
            crate::escape::visible(id)
        )))
    }
}

/// The most users one membership change names.
const MEMBERS_PER_CALL: usize = 100;

impl Piwik {
    /// Carries out one access action of a plan. `id` is the id of its subject: the user whose
    /// permission it sets, or the group it changes (one this run created included); the
    /// executor has already put the members' ids in place of their keys.
    pub async fn carry_out_action(
        self: &Arc<Self>,
        action: &Action,
        id: Option<&str>,
    ) -> Result<Option<String>, ProviderError> {
        let need_id = || {
            id.map(str::to_string).ok_or_else(|| {
                ProviderError::Protocol(format!("the id of {} is not known", action.subject()))
            })
        };
        // A value the entity does not take (`edit-publish` on a meta site) is refused here.
        let permission = |entity: Entity, value: Option<&str>| {
            let value = value.unwrap_or("no-access");
            Permission::parse_for(value, entity).ok_or_else(|| {
                ProviderError::Protocol(format!(
                    "`{}` is not a permission",
                    crate::escape::visible(value)
                ))
            })
        };
        let step = match action.op {
            Op::CreateGroup => Step::CreateGroup {
                name: action.user.clone(),
                external_id: action.after("external_id").map(str::to_string),
            },
            Op::UpdateGroup => {
                let name = action.changes.iter().find(|c| c.attribute == "name");
                Step::RenameGroup {
                    id: need_id()?,
                    from: name.and_then(|c| c.before.clone()).unwrap_or_default(),
                    to: action.user.clone(),
                }
            }
            Op::DeleteGroup => Step::DeleteGroup {
                id: need_id()?,
                name: action.user.clone(),
            },
            Op::AddMembers | Op::RemoveMembers => {
                let adding = action.op == Op::AddMembers;
                let users = action
                    .changes
                    .iter()
                    .filter_map(|c| {
                        if adding {
                            c.after.clone()
                        } else {
                            c.before.clone()
                        }
                    })
                    .collect();
                let group = GroupRef::Live(need_id()?);
                if adding {
                    Step::AddMembers { group, users }
                } else {
                    Step::RemoveMembers { group, users }
                }
            }
            Op::SetPermission | Op::SetGroupPermission => {
                let Some(on) = &action.on else {
                    return Err(ProviderError::Protocol(
                        "a permission names no app or meta site".into(),
                    ));
                };
                let change = action.changes.first();
                let holder = if action.op == Op::SetPermission {
                    StepHolder::User(need_id()?)
                } else {
                    StepHolder::Group(GroupRef::Live(need_id()?))
                };
                Step::SetPermission {
                    entity: on.entity,
                    on: on.id.clone(),
                    holder,
                    before: permission(on.entity, change.and_then(|c| c.before.as_deref()))?,
                    after: permission(on.entity, change.and_then(|c| c.after.as_deref()))?,
                }
            }
            _ => {
                return Err(ProviderError::Protocol(format!(
                    "`{}` is not an access step",
                    action.op.name()
                )));
            }
        };
        self.carry_out_access(&step, &BTreeMap::new()).await
    }

    /// Carries out one access step. `created` holds the ids of the groups this run created, by
    /// name. Returns the id of a group it creates.
    pub async fn carry_out_access(
        self: &Arc<Self>,
        step: &Step,
        created: &BTreeMap<String, String>,
    ) -> Result<Option<String>, ProviderError> {
        let group_id = |group: &GroupRef| -> Result<String, ProviderError> {
            match group {
                GroupRef::Live(id) => Ok(id.clone()),
                GroupRef::New(name) => created.get(name).cloned().ok_or_else(|| {
                    ProviderError::Protocol(format!("the group `{name}` was not created"))
                }),
            }
        };
        match step {
            Step::CreateGroup { name, external_id } => self
                .create_group(name, external_id.as_deref())
                .await
                .map(Some),
            Step::RenameGroup { id, to, .. } => {
                let path = format!("/api/user-groups/v1/{}", path_id(id)?);
                let body = json!({ "data": {
                    "type": GROUP_TYPE, "id": id, "attributes": { "name": to },
                }});
                self.set(Method::PATCH, &path, &body).await.map(|()| None)
            }
            Step::DeleteGroup { id, .. } => self
                .delete_at(&format!("/api/user-groups/v1/{}", path_id(id)?))
                .await
                .map(|()| None),
            Step::AddMembers { group, users } | Step::RemoveMembers { group, users } => {
                let adding = matches!(step, Step::AddMembers { .. });
                let group = path_id(&group_id(group)?)?.to_string();
                for batch in users.chunks(MEMBERS_PER_CALL) {
                    self.change_members(&group, batch, adding).await?;
                }
                Ok(None)
            }
            Step::SetPermission {
                entity,
                on,
                holder,
                after,
                ..
            } => {
                let (who, id) = match holder {
                    StepHolder::User(id) => ("user", id.clone()),
                    StepHolder::Group(group) => ("user-group", group_id(group)?),
                };
                let segment = entity_segment(*entity);
                let path = format!(
                    "/api/access-control/v2/{segment}/{}/permission/{who}/{}",
                    path_id(on)?,
                    path_id(&id)?
                );
                let body = json!({ "data": {
                    "type": format!("{segment}/permission/{who}"),
                    "attributes": { "permission": after.as_str() },
                }});
                // A set gives the value whatever it was: repeating it changes nothing.
                self.set(Method::POST, &path, &body).await.map(|()| None)
            }
        }
    }

    /// Adds or removes one batch of members. An account may refuse adding a member twice or
    /// removing a non-member, so after a lost answer, a 5xx or a refusal the members are read
    /// again, and only the users still to add or remove are sent once more.
    async fn change_members(
        self: &Arc<Self>,
        group: &str,
        users: &[String],
        adding: bool,
    ) -> Result<(), ProviderError> {
        let path = format!("/api/user-groups/v1/{group}/relationships/users");
        let members_path = format!("/api/user-groups/v1/{group}/users");
        let method = if adding { Method::POST } else { Method::DELETE };
        let mut left: Vec<String> = users.to_vec();
        for attempt in 1..=4u32 {
            let data: Vec<_> = left
                .iter()
                .map(|id| json!({ "type": USER_TYPE, "id": id }))
                .collect();
            let body = json!({ "data": data });
            let outcome = self
                .call(
                    method.clone(),
                    &path,
                    &[],
                    Some(&body),
                    Kind::Write { idempotent: false },
                )
                .await;
            let failure = match outcome {
                Ok(answer) if answer.status == StatusCode::NO_CONTENT => return Ok(()),
                Ok(answer) => Self::api_error(&answer),
                Err(ProviderError::Transport(err)) => ProviderError::Transport(err),
                Err(err) => return Err(err),
            };
            let members: BTreeSet<String> = self
                .list_all(&members_path, &[], "group members", member, |m: &String| m)
                .await?
                .into_iter()
                .collect();
            left.retain(|u| members.contains(u) != adding);
            if left.is_empty() {
                return Ok(());
            }
            if attempt == 4 {
                return Err(failure);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100) * attempt).await;
        }
        Ok(())
    }

    /// A write that sets what it names, so repeating it changes nothing: retried like a read,
    /// and done when the service answers 204.
    async fn set(
        &self,
        method: Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(), ProviderError> {
        let answer = self
            .call(
                method,
                path,
                &[],
                Some(body),
                Kind::Write { idempotent: true },
            )
            .await?;
        Self::expect(answer, StatusCode::NO_CONTENT).map(|_| ())
    }

    /// Creates a group, never twice: after an answer that was lost, the group is looked up by
    /// its name (names are unique whatever their case) and external id, and one found is the
    /// group created.
    async fn create_group(
        self: &Arc<Self>,
        name: &str,
        external_id: Option<&str>,
    ) -> Result<String, ProviderError> {
        let mut attributes = json!({ "name": name });
        if let Some(external_id) = external_id {
            attributes["external_id"] = external_id.into();
        }
        let body = json!({ "data": { "type": GROUP_TYPE, "attributes": attributes } });
        let mut attempts = 0;
        let mut unknown_before = false;
        loop {
            attempts += 1;
            let outcome = self
                .call_as(
                    Method::POST,
                    "/api/user-groups/v1",
                    &[],
                    Some((&body, "application/json")),
                    Kind::Write { idempotent: false },
                )
                .await;
            let unknown = match outcome {
                Ok(answer) if answer.status == StatusCode::CREATED => {
                    let created: Created = serde_json::from_slice(&answer.body).map_err(|e| {
                        ProviderError::Protocol(format!(
                            "unexpected answer to a group creation: {e}"
                        ))
                    })?;
                    return Ok(created.data.id);
                }
                Ok(answer) if answer.status.is_server_error() => {
                    format!("HTTP {}", answer.status.as_u16())
                }
                Ok(answer) => {
                    let err = Self::api_error(&answer);
                    // A refusal after an attempt whose answer was lost may be that attempt's
                    // group taking the name; only then is a group found by name this one. A
                    // group that had the name before is someone else's: the plan was stale.
                    if unknown_before && let Some(id) = self.find_group(name, external_id).await? {
                        return Ok(id);
                    }
                    return Err(err);
                }
                Err(ProviderError::Transport(err)) => err.to_string(),
                Err(err) => return Err(err),
            };
            tracing::info!(
                "creating the group {name} has an unknown outcome ({unknown}); looking it up"
            );
            unknown_before = true;
            if let Some(id) = self.find_group(name, external_id).await? {
                return Ok(id);
            }
            if attempts >= 4 {
                return Err(ProviderError::Protocol(format!(
                    "creating the group `{name}` got no answer {attempts} times ({unknown})"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200) * attempts).await;
        }
    }

    /// The id of the group named `name` (names are unique whatever their case) with this
    /// external id.
    async fn find_group(
        self: &Arc<Self>,
        name: &str,
        external_id: Option<&str>,
    ) -> Result<Option<String>, ProviderError> {
        let groups = self
            .list_all(
                "/api/user-groups/v1",
                &[],
                "user groups",
                group,
                |g: &LiveGroup| &g.id,
            )
            .await?;
        Ok(groups
            .into_iter()
            .find(|g| g.name.eq_ignore_ascii_case(name) && g.external_id.as_deref() == external_id)
            .map(|g| g.id))
    }
}

#[derive(Deserialize)]
struct Created {
    data: Row<serde::de::IgnoredAny>,
}

fn entity_segment(entity: Entity) -> &'static str {
    match entity {
        Entity::App => "app",
        Entity::MetaSite => "meta-site",
    }
}
