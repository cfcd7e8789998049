//! A user's roles, through the `roles` relationship.

use super::*;

impl Inner {
    pub(super) fn user_roles(&self, call: &Call, key: &str, full: bool) -> Result<Reply, Failure> {
        let query = ListQuery::parse(call.request, &[], &[], &[])?;
        let index = self.user_index(key, false)?;
        let roles = self.roles_of(&self.data.users[index]);
        let (roles, mut links, pagination) = paginate(call, roles, query.paging)?;
        links["available"] = call.url("/roles").into();
        let data: Vec<Value> = roles
            .iter()
            .map(|r| {
                if full {
                    Self::role_resource(call, r)
                } else {
                    json!({ "id": r.id.to_string(), "type": "roles" })
                }
            })
            .collect();
        let mut meta = json!({ "pagination": pagination });
        if full {
            meta["schema"] = call.schema(&["roles"]);
        }
        Ok(call.reply(
            StatusCode::OK,
            &json!({ "data": data, "links": links, "meta": meta }),
        ))
    }

    pub(super) fn change_roles(
        &mut self,
        call: &Call,
        key: &str,
        caller: u64,
        change: Change,
    ) -> Result<Reply, Failure> {
        let index = self.user_index(key, false)?;
        let document = document(call.request)?;
        let items: Vec<&Value> = match document.get("data") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item @ Value::Object(_)) => vec![item],
            _ => {
                return Err(invalid(
                    "\"data\" must be a resource identifier or a list of them",
                ));
            }
        };
        let mut wanted = BTreeSet::new();
        for item in items {
            let Value::Object(item) = item else {
                return Err(invalid("\"data\" must hold resource identifiers"));
            };
            if item.get("type").and_then(Value::as_str) != Some("roles") {
                return Err(conflict("Unsupported resource type"));
            }
            // Ids only, as text or number: a role's name is not looked up here.
            let id = match item.get("id") {
                None | Some(Value::Null) => {
                    return Err(invalid("a resource identifier has no \"id\""));
                }
                Some(Value::String(id)) => id.parse::<u64>().ok(),
                Some(Value::Number(id)) => id.as_u64(),
                Some(_) => None,
            };
            let role = id
                .and_then(|id| self.data.roles.iter().find(|r| r.id == id))
                .ok_or_else(|| not_found("roles"))?;
            wanted.insert(role.id);
        }
        let user = &self.data.users[index];
        let current: BTreeSet<u64> = user.roles.iter().copied().collect();
        let next: BTreeSet<u64> = match change {
            Change::Add => current.union(&wanted).copied().collect(),
            Change::Remove => current.difference(&wanted).copied().collect(),
            Change::Replace => wanted,
        };
        if user.id == ADMIN_USER && current.contains(&ADMIN_ROLE) && !next.contains(&ADMIN_ROLE) {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "Could not update relationship for users/roles for ADMIN_USER and ADMIN_ROLE",
            ));
        }
        let best = self.best_priority(caller);
        let outranked = current
            .symmetric_difference(&next)
            .filter_map(|id| self.data.roles.iter().find(|r| r.id == *id))
            .any(|role| best > role.priority);
        if outranked {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "Could not update role. Insufficient priority",
            ));
        }
        if next == current {
            return Ok(Reply::empty(StatusCode::NO_CONTENT));
        }
        self.data.users[index].roles = next.into_iter().collect();
        Ok(call
            .reply(StatusCode::OK, &json!({ "links": call.links() }))
            .committed())
    }
}
