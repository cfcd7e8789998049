//! Piwik PRO access beyond the account role: which apps and meta sites each person or user group
//! may view, edit, publish or manage, and who is in which group, as read from an account.
//!
//! What was not read is not here: [`LiveAccess::grants_read`] names every app and meta site whose
//! permissions were read, and a group's `members` is `None` until they are read. A missing grant
//! on an entity that was read means `no-access`; on one that was not, it means unknown.

use std::collections::BTreeSet;
use std::fmt;

/// An app or meta-site permission, lowest first. A principal's effective permission is the
/// highest of its own and its groups'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    NoAccess,
    View,
    Edit,
    /// Apps only: edit and publish Tag Manager changes.
    EditPublish,
    Manage,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::NoAccess,
        Permission::View,
        Permission::Edit,
        Permission::EditPublish,
        Permission::Manage,
    ];

    /// The API's own name.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::NoAccess => "no-access",
            Permission::View => "view",
            Permission::Edit => "edit",
            Permission::EditPublish => "edit-publish",
            Permission::Manage => "manage",
        }
    }

    /// What a value of this kind is called in messages.
    pub const WHAT: &'static str = "permission";

    /// The permission the API names `text`.
    pub fn parse(text: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// The permission the API names `text`, if it is one `entity` takes.
    pub fn parse_for(text: &str, entity: Entity) -> Option<Permission> {
        Permission::parse(text).filter(|p| entity.takes(*p))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a permission is on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Entity {
    App,
    MetaSite,
}

impl Entity {
    /// Whether this kind of entity has `permission` (meta sites have no `edit-publish`).
    pub fn takes(self, permission: Permission) -> bool {
        !(self == Entity::MetaSite && permission == Permission::EditPublish)
    }

    /// `app` or `meta site`, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Entity::App => "app",
            Entity::MetaSite => "meta site",
        }
    }
}

/// How the files name an app or meta site: by its name, or pinned by its UUID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntityName {
    Name(String),
    Id(String),
}

impl EntityName {
    /// A UUID pins the entity; anything else is a name.
    pub fn from_key(key: &str) -> EntityName {
        match uuid::Uuid::parse_str(key.trim()) {
            Ok(id) => EntityName::Id(id.to_string()),
            Err(_) => EntityName::Name(key.to_string()),
        }
    }
}

impl fmt::Display for EntityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityName::Name(name) => f.write_str(name),
            EntityName::Id(id) => f.write_str(id),
        }
    }
}

/// Which access a read covers: the permissions on the apps and meta sites the files name (with
/// every group and its members), or everything an account has, for an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessScope {
    Named(Vec<(Entity, EntityName)>),
    Everything,
}

impl AccessScope {
    /// Whether the permissions on `named` (an app or meta site as read) are in scope.
    pub fn covers(&self, entity: Entity, named: &Named) -> bool {
        match self {
            AccessScope::Everything => true,
            AccessScope::Named(list) => list.iter().any(|(e, name)| {
                *e == entity
                    && match name {
                        EntityName::Id(id) => named.id.eq_ignore_ascii_case(id),
                        EntityName::Name(name) => named.name == *name,
                    }
            }),
        }
    }
}

/// A permission the files give, on an app or meta site as they name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredPermission {
    pub entity: Entity,
    pub on: EntityName,
    pub permission: Permission,
    /// Where it is written.
    pub origin: crate::diagnostic::Origin,
}

/// A user group as the files want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredGroup {
    pub name: String,
    pub external_id: Option<String>,
    pub former_names: Vec<String>,
    /// Members by user key (a lower-cased email); `None` leaves them as they are.
    pub members: Option<Vec<String>>,
    pub access: Vec<DesiredPermission>,
    pub origin: crate::diagnostic::Origin,
}

/// Who holds a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    User,
    Group,
}

/// An app or meta site: its id and name. App names need not be unique.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// A user group as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveGroup {
    pub id: String,
    pub name: String,
    /// Its id in the company's identity provider, when it has one.
    pub external_id: Option<String>,
    /// Member user ids, sorted; `None` when they were not read.
    pub members: Option<Vec<String>>,
}

/// One direct permission above `no-access`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LiveGrant {
    pub entity: Entity,
    /// The app or meta site id.
    pub on: String,
    pub principal: Principal,
    /// The user or group id.
    pub to: String,
    pub permission: Permission,
}

/// Apps, meta sites, groups and permissions as read from an account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveAccess {
    /// Sorted by name, then id.
    pub apps: Vec<Named>,
    /// Sorted by name, then id.
    pub meta_sites: Vec<Named>,
    /// Sorted by name, then id.
    pub groups: Vec<LiveGroup>,
    /// Sorted; only on the entities in `grants_read`.
    pub grants: Vec<LiveGrant>,
    /// The apps and meta sites whose user and group permissions were read in full.
    pub grants_read: BTreeSet<(Entity, String)>,
}

impl LiveAccess {
    /// The permission `principal` `to` holds directly on an entity: `None` when that entity's
    /// permissions were not read.
    pub fn direct(
        &self,
        entity: Entity,
        on: &str,
        principal: Principal,
        to: &str,
    ) -> Option<Permission> {
        if !self.grants_read.contains(&(entity, on.to_string())) {
            return None;
        }
        Some(
            self.grants
                .iter()
                .find(|g| {
                    g.entity == entity && g.on == on && g.principal == principal && g.to == to
                })
                .map_or(Permission::NoAccess, |g| g.permission),
        )
    }

    /// A user's effective permission on an entity: the highest of their own and their groups'.
    /// `None` when that entity's permissions, or the members of a group granting anything on
    /// it, were not read.
    pub fn effective(&self, entity: Entity, on: &str, user: &str) -> Option<Permission> {
        let mut best = self.direct(entity, on, Principal::User, user)?;
        for grant in self
            .grants
            .iter()
            .filter(|g| g.entity == entity && g.on == on && g.principal == Principal::Group)
        {
            let group = self.groups.iter().find(|g| g.id == grant.to)?;
            if group.members.as_ref()?.iter().any(|m| m == user) {
                best = best.max(grant.permission);
            }
        }
        Some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_ordered_and_meta_sites_have_no_edit_publish() {
        assert!(Permission::NoAccess < Permission::View);
        assert!(Permission::EditPublish < Permission::Manage);
        assert_eq!(
            Permission::parse_for("edit-publish", Entity::App),
            Some(Permission::EditPublish)
        );
        assert_eq!(
            Permission::parse_for("edit-publish", Entity::MetaSite),
            None
        );
        assert_eq!(Permission::parse_for("copy", Entity::App), None);
    }

    #[test]
    fn what_was_not_read_is_unknown() {
        let group = |members: Option<Vec<String>>| LiveGroup {
            id: "g".into(),
            name: "Marketing".into(),
            external_id: None,
            members,
        };
        let mut access = LiveAccess {
            groups: vec![group(Some(vec!["u".into()]))],
            grants: vec![LiveGrant {
                entity: Entity::App,
                on: "a".into(),
                principal: Principal::Group,
                to: "g".into(),
                permission: Permission::Edit,
            }],
            grants_read: BTreeSet::from([(Entity::App, "a".to_string())]),
            ..Default::default()
        };
        assert_eq!(
            access.direct(Entity::App, "a", Principal::User, "u"),
            Some(Permission::NoAccess)
        );
        assert_eq!(
            access.effective(Entity::App, "a", "u"),
            Some(Permission::Edit)
        );
        assert_eq!(access.effective(Entity::App, "b", "u"), None);
        access.groups = vec![group(None)];
        assert_eq!(access.effective(Entity::App, "a", "u"), None);
    }
}
