//! Listing, reading, creating, updating and deleting roles.

use super::*;

impl Inner {
    pub(super) fn list_roles(&self, call: &Call) -> Result<Reply, Failure> {
        let query = ListQuery::parse(call.request, &["id", "name"], ROLE_SORTS, &[])?;
        let mut roles: Vec<&Role> = self
            .data
            .roles
            .iter()
            .filter(|r| {
                query
                    .filters
                    .iter()
                    .all(|(filter, value)| match filter.as_str() {
                        "id" => value
                            .split(',')
                            .any(|id| id.trim().parse::<u64>() == Ok(r.id)),
                        "name" => same_text(Some(&r.name), value),
                        _ => {
                            let needle = value.to_lowercase();
                            r.name.to_lowercase().contains(&needle)
                                || r.description
                                    .as_deref()
                                    .is_some_and(|d| d.to_lowercase().contains(&needle))
                        }
                    })
            })
            .collect();
        sort_by_key(
            &mut roles,
            query.sort.as_ref(),
            |r| r.id,
            |r, field| match field {
                "name" => text_key(Some(&r.name)),
                "priority" => SortKey::Number(r.priority.into()),
                "created" => SortKey::Number(r.created),
                _ => SortKey::Number(r.id),
            },
        );
        let (roles, links, pagination) = paginate(call, roles, query.paging)?;
        let data: Vec<Value> = roles.iter().map(|r| Self::role_resource(call, r)).collect();
        Ok(call.reply(
            StatusCode::OK,
            &json!({
                "data": data,
                "links": links,
                "meta": { "pagination": pagination, "schema": call.schema(&["roles"]) },
            }),
        ))
    }

    pub(super) fn single_role(call: &Call, role: &Role) -> Value {
        json!({
            "data": Self::role_resource(call, role),
            "links": call.links(),
            "meta": { "schema": call.schema(&["roles"]) },
        })
    }

    pub(super) fn get_role(&self, call: &Call, key: &str) -> Result<Reply, Failure> {
        ListQuery::parse(call.request, &[], &[], &[])?;
        let index = self.role_index(key)?;
        Ok(call.reply(
            StatusCode::OK,
            &Self::single_role(call, &self.data.roles[index]),
        ))
    }

    /// Checks the attributes of a role body; `existing` is the id of the role an update changes.
    pub(super) fn role_changes(
        &self,
        data: &Map<String, Value>,
        existing: Option<u64>,
    ) -> Result<RoleChanges, Failure> {
        let attributes = attributes(data)?;
        let mut errors = Vec::new();
        let mut changes = RoleChanges::default();
        if existing.is_none() && !attributes.contains_key("name") {
            errors.push(rule("name", "_required"));
        }
        for (field, value) in &attributes {
            match (field.as_str(), value) {
                ("name", Value::String(s)) if s.trim().is_empty() => {
                    errors.push(rule(field, "_empty"));
                }
                ("name", Value::String(s)) if s.chars().count() > ROLE_NAME_MAX => {
                    errors.push(rule(field, "maxLength"));
                }
                ("name", Value::String(s)) => {
                    if self
                        .data
                        .roles
                        .iter()
                        .any(|r| Some(r.id) != existing && same_text(Some(&r.name), s))
                    {
                        errors.push(rule(field, "unique"));
                    }
                    changes.name = Some(s.clone());
                }
                ("name", Value::Null) => errors.push(rule(field, "_empty")),
                ("name", _) => errors.push(rule(field, "scalar")),
                ("description", _) => {
                    changes.description = optional_text(field, value, &mut errors);
                }
                // Read-only in BEdita, and silently dropped there too.
                ("priority" | "unchangeable", _) => {}
                _ => errors.push(rule(field, "unknown")),
            }
        }
        if errors.is_empty() {
            Ok(changes)
        } else {
            Err(invalid(errors.join(" ")))
        }
    }

    pub(super) fn create_role(&mut self, call: &Call) -> Result<Reply, Failure> {
        let document = document(call.request)?;
        let data = resource_object(&document, "roles")?;
        check_new(data)?;
        let changes = self.role_changes(data, None)?;
        let id = self.data.allocate();
        let role = Role {
            id,
            name: changes.name.unwrap_or_default(),
            description: changes.description.flatten(),
            unchangeable: false,
            priority: NEW_ROLE_PRIORITY,
            created: now(),
        };
        let body = Self::single_role(call, &role);
        self.data.roles.push(role);
        let mut reply = call.reply(StatusCode::CREATED, &body).committed();
        reply
            .headers
            .push(("location", call.url(&format!("/roles/{id}"))));
        Ok(reply)
    }

    pub(super) fn update_role(&mut self, call: &Call, key: &str) -> Result<Reply, Failure> {
        let index = self.role_index(key)?;
        let document = document(call.request)?;
        let data = resource_object(&document, "roles")?;
        let role = &self.data.roles[index];
        check_id(data, key, role.id)?;
        let changes = self.role_changes(data, Some(role.id))?;
        if (role.unchangeable || role.id == ADMIN_ROLE)
            && changes.name.as_ref().is_some_and(|name| *name != role.name)
        {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                format!("Could not modify \"Role\" {}", role.id),
            ));
        }
        let role = &mut self.data.roles[index];
        if let Some(name) = changes.name {
            role.name = name;
        }
        if let Some(description) = changes.description {
            role.description = description;
        }
        let body = Self::single_role(call, &self.data.roles[index]);
        Ok(call.reply(StatusCode::OK, &body).committed())
    }

    /// Deletes a role and every grant of it.
    pub(super) fn delete_role(&mut self, key: &str) -> Result<Reply, Failure> {
        let index = self.role_index(key)?;
        let role = &self.data.roles[index];
        if role.unchangeable || role.id == ADMIN_ROLE {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                format!("Could not delete \"Role\" {}", role.id),
            ));
        }
        let id = role.id;
        self.data.roles.remove(index);
        for user in &mut self.data.users {
            user.roles.retain(|r| *r != id);
        }
        Ok(Reply::empty(StatusCode::NO_CONTENT).committed())
    }
}
