//! Users and roles as JSON:API resources.

use super::*;

impl Inner {
    pub(super) fn user_resource(
        &self,
        call: &Call,
        unames: &Unames,
        user: &User,
        with_roles: bool,
    ) -> Value {
        let mut attributes = Map::new();
        attributes.insert("status".into(), user.status.clone().into());
        attributes.insert("uname".into(), unames.of(user).into());
        attributes.insert("title".into(), title(user).into());
        attributes.insert("lang".into(), json!(user.lang));
        attributes.insert("name".into(), json!(user.name));
        attributes.insert("surname".into(), json!(user.surname));
        attributes.insert("email".into(), json!(user.email));
        attributes.insert("username".into(), user.username.clone().into());
        attributes.insert("company".into(), false.into());
        for name in UNSTORED_ATTRIBUTES {
            attributes.insert((*name).into(), Value::Null);
        }
        let path = if user.deleted {
            format!("/trash/{}", user.id)
        } else {
            format!("/users/{}", user.id)
        };
        let mut resource = json!({
            "id": user.id.to_string(),
            "type": "users",
            "attributes": attributes,
            "meta": {
                "locked": false,
                "created": timestamp(user.created),
                "modified": timestamp(user.modified),
                "published": null,
                "created_by": ADMIN_USER,
                "modified_by": ADMIN_USER,
                "blocked": user.blocked,
                "last_login": null,
                "last_login_err": null,
                "num_login_err": 0,
                "verified": null,
                "password_modified": user.password_hash.as_ref().map(|_| timestamp(user.created)),
                "external_auth": [],
            },
            "links": { "self": call.url(&path) },
        });
        if !user.deleted {
            let mut roles = json!({
                "links": {
                    "related": call.url(&format!("{path}/roles")),
                    "self": call.url(&format!("{path}/relationships/roles")),
                }
            });
            if with_roles && !self.no_role_data {
                roles["data"] = self
                    .roles_of(user)
                    .iter()
                    .map(|r| json!({ "id": r.id.to_string(), "type": "roles" }))
                    .collect();
            }
            resource["relationships"] = json!({ "roles": roles });
        }
        resource
    }

    pub(super) fn role_resource(call: &Call, role: &Role) -> Value {
        json!({
            "id": role.id.to_string(),
            "type": "roles",
            "attributes": { "name": role.name, "description": role.description },
            "meta": {
                "unchangeable": role.unchangeable,
                "created": timestamp(role.created),
                "modified": timestamp(role.created),
                "priority": role.priority,
            },
            "links": { "self": call.url(&format!("/roles/{}", role.id)) },
        })
    }

    /// The role resources the given users hold, each once, by id.
    pub(super) fn included_roles<'u>(
        &self,
        call: &Call,
        users: impl Iterator<Item = &'u User>,
    ) -> Value {
        let ids: BTreeSet<u64> = users.flat_map(|u| u.roles.iter().copied()).collect();
        self.data
            .roles
            .iter()
            .filter(|r| ids.contains(&r.id))
            .map(|r| (r.id, Self::role_resource(call, r)))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect()
    }

    pub(super) fn single_user(&self, call: &Call, user: &User, with_roles: bool) -> Value {
        let unames = self.unames();
        let mut body = json!({
            "data": self.user_resource(call, unames, user, with_roles),
            "links": call.links(),
            "meta": { "schema": call.schema(if with_roles { &["users", "roles"] } else { &["users"] }) },
        });
        if with_roles {
            body["included"] = self.included_roles(call, std::iter::once(user));
        }
        body
    }
}
