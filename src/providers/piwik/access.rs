//! Reading Piwik PRO access: apps, meta sites, user groups with their members, and the user and
//! group permissions on apps and meta sites (`apis.md` §7).
//!
//! Lists are read a thousand rows a page, whatever the service's default of ten. Only the fields
//! rollcall relies on are read: a user row's `group_permissions`, whose shape accounts differ on
//! (an object, `null` or `[]`), is never needed, since a user's effective permission is worked
//! out from the groups' own grants and members. A permission outside the API's values fails the
//! read, naming it.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;

use super::Piwik;
use crate::model::access::{
    Entity, LiveAccess, LiveGrant, LiveGroup, Named, Permission, Principal,
};
use crate::providers::ProviderError;

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
        match Permission::parse(&row.attributes.permission, entity) {
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

        let mut grants = Vec::new();
        let mut grants_read = BTreeSet::new();
        let entities = apps
            .iter()
            .map(|a| (Entity::App, a))
            .chain(meta_sites.iter().map(|m| (Entity::MetaSite, m)))
            .filter(|(entity, named)| (reach.grants)(*entity, named));
        for (entity, named) in entities {
            let segment = match entity {
                Entity::App => "app",
                Entity::MetaSite => "meta-site",
            };
            for principal in [Principal::User, Principal::Group] {
                let who = match principal {
                    Principal::User => "user",
                    Principal::Group => "user-group",
                };
                // A path of the service's own ids, each checked to be plain before it is used.
                let path = format!(
                    "/api/access-control/v2/{segment}/{}/permission/{who}",
                    path_id(&named.id)?
                );
                let rows = self
                    .list_all(
                        &path,
                        &[],
                        "permissions",
                        held(entity),
                        |r: &(String, Permission)| &r.0,
                    )
                    .await?;
                grants.extend(
                    rows.into_iter()
                        .filter(|(_, permission)| *permission != Permission::NoAccess)
                        .map(|(to, permission)| LiveGrant {
                            entity,
                            on: named.id.clone(),
                            principal,
                            to,
                            permission,
                        }),
                );
            }
            grants_read.insert((entity, named.id.clone()));
        }
        grants.sort();

        for group in groups.iter_mut().filter(|g| (reach.members)(&g.name)) {
            let path = format!("/api/user-groups/v1/{}/users", path_id(&group.id)?);
            let mut members = self
                .list_all(&path, &[], "group members", member, |m: &String| m)
                .await?;
            members.sort();
            group.members = Some(members);
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
