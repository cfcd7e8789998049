//! Listing, reading, creating, updating and deleting users.

use super::*;

impl Inner {
    pub(super) fn list_users(&self, call: &Call) -> Result<Reply, Failure> {
        let query = ListQuery::parse(call.request, USER_FILTERS, USER_SORTS, &["roles"])?;
        let mut users: Vec<&User> = self
            .data
            .users
            .iter()
            .filter(|u| !u.deleted)
            .filter(|u| {
                query
                    .filters
                    .iter()
                    .all(|(name, value)| self.user_matches(u, name, value))
            })
            .collect();
        sort_by_key(&mut users, query.sort.as_ref(), |u| u.id, user_key);
        let (users, links, pagination) = paginate(call, users, query.paging)?;
        let with_roles = query.includes("roles");
        let unames = self.unames();
        let data: Vec<Value> = users
            .iter()
            .map(|u| self.user_resource(call, unames, u, with_roles))
            .collect();
        let types: &[&str] = if with_roles {
            &["users", "roles"]
        } else {
            &["users"]
        };
        let mut body = json!({
            "data": data,
            "links": links,
            "meta": { "pagination": pagination, "schema": call.schema(types) },
        });
        if with_roles {
            body["included"] = self.included_roles(call, users.iter().copied());
        }
        Ok(call.reply(StatusCode::OK, &body))
    }

    pub(super) fn get_user(&self, call: &Call, key: &str) -> Result<Reply, Failure> {
        let query = ListQuery::parse(call.request, &[], &[], &["roles"])?;
        let index = self.user_index(key, false)?;
        let body = self.single_user(call, &self.data.users[index], query.includes("roles"));
        Ok(call.reply(StatusCode::OK, &body))
    }

    /// Checks the attributes (and `meta.blocked`) of a create or update body; `existing` is the
    /// id of the user an update changes.
    pub(super) fn user_changes(
        &self,
        data: &Map<String, Value>,
        existing: Option<u64>,
    ) -> Result<UserChanges, Failure> {
        let attributes = attributes(data)?;
        let mut errors = Vec::new();
        let mut changes = UserChanges::default();
        let taken = |matches: &dyn Fn(&User) -> bool| {
            self.data
                .users
                .iter()
                .any(|u| Some(u.id) != existing && matches(u))
        };
        if existing.is_none() && !attributes.contains_key("username") {
            errors.push(rule("username", "_required"));
        }
        for (field, value) in &attributes {
            match (field.as_str(), value) {
                ("username", Value::String(s)) if s.trim().is_empty() => {
                    errors.push(rule(field, "_empty"));
                }
                ("username", Value::String(s)) if s.starts_with("__deleted-") => {
                    errors.push(rule(field, "notDeleted"));
                }
                ("username", Value::String(s)) if !valid_username(s) => {
                    errors.push(rule(field, "validUsername"));
                }
                ("username", Value::String(s)) => {
                    if taken(&|u| same_text(Some(&u.username), s)) {
                        errors.push(rule(field, "unique"));
                    }
                    changes.username = Some(s.clone());
                }
                ("username", Value::Null) => errors.push(rule(field, "_empty")),
                ("username", _) => errors.push(rule(field, "scalar")),
                ("email", Value::String(s)) if !s.is_empty() && !valid_email(s) => {
                    errors.push(rule(field, "email"));
                }
                ("email", Value::String(s)) if !s.is_empty() => {
                    if taken(&|u| same_text(u.email.as_deref(), s)) {
                        errors.push(rule(field, "unique"));
                    }
                    changes.email = Some(Some(s.clone()));
                }
                ("email", _) => changes.email = optional_text(field, value, &mut errors),
                ("name", _) => changes.name = optional_text(field, value, &mut errors),
                ("surname", _) => changes.surname = optional_text(field, value, &mut errors),
                ("lang", Value::String(s)) if s.is_empty() => errors.push(rule(field, "_empty")),
                ("lang", _) => changes.lang = optional_text(field, value, &mut errors),
                ("status", Value::String(s)) if matches!(s.as_str(), "on" | "off" | "draft") => {
                    changes.status = Some(s.clone());
                }
                ("status", _) => errors.push(rule(field, "inList")),
                ("password", Value::String(s)) if !s.is_empty() => {
                    changes.password = Some(s.clone());
                }
                ("password", Value::String(_) | Value::Null) => {
                    errors.push(rule(field, "_empty"));
                }
                ("password", _) => errors.push(rule(field, "scalar")),
                _ => errors.push(rule(field, "unknown")),
            }
        }
        match data.get("meta") {
            None | Some(Value::Null) => {}
            Some(Value::Object(meta)) => match meta.get("blocked") {
                None => {}
                Some(Value::Bool(blocked)) => changes.blocked = Some(*blocked),
                Some(_) => errors.push(rule("blocked", "boolean")),
            },
            Some(_) => errors.push(rule("meta", "isArray")),
        }
        if errors.is_empty() {
            Ok(changes)
        } else {
            Err(invalid(errors.join(" ")))
        }
    }

    pub(super) fn create_user(&mut self, call: &Call) -> Result<Reply, Failure> {
        let document = document(call.request)?;
        let data = resource_object(&document, "users")?;
        check_new(data)?;
        let changes = self.user_changes(data, None)?;
        let now = now();
        let id = self.data.allocate();
        let user = User {
            id,
            username: changes.username.unwrap_or_default(),
            email: changes.email.flatten(),
            name: changes.name.flatten(),
            surname: changes.surname.flatten(),
            lang: changes.lang.flatten(),
            status: changes.status.unwrap_or_else(|| "draft".into()),
            password_hash: changes.password.as_deref().map(password_hash),
            roles: Vec::new(),
            deleted: false,
            blocked: changes.blocked.unwrap_or(false),
            created: now,
            modified: now,
        };
        let body = self.single_user(call, &user, false);
        self.data.users.push(user);
        let mut reply = call.reply(StatusCode::CREATED, &body).committed();
        reply
            .headers
            .push(("location", call.url(&format!("/users/{id}"))));
        Ok(reply)
    }

    pub(super) fn update_user(&mut self, call: &Call, key: &str) -> Result<Reply, Failure> {
        let index = self.user_index(key, false)?;
        let document = document(call.request)?;
        let data = resource_object(&document, "users")?;
        let id = self.data.users[index].id;
        check_id(data, key, id)?;
        if data.contains_key("relationships") {
            return Err(invalid(
                "relationships cannot be set here; use the relationships endpoint",
            ));
        }
        let changes = self.user_changes(data, Some(id))?;
        let user = &mut self.data.users[index];
        if let Some(username) = changes.username {
            user.username = username;
        }
        if let Some(email) = changes.email {
            user.email = email;
        }
        if let Some(name) = changes.name {
            user.name = name;
        }
        if let Some(surname) = changes.surname {
            user.surname = surname;
        }
        if let Some(lang) = changes.lang {
            user.lang = lang;
        }
        if let Some(status) = changes.status {
            user.status = status;
        }
        if let Some(password) = changes.password {
            user.password_hash = Some(password_hash(&password));
        }
        if let Some(blocked) = changes.blocked
            && !(self.blocked_ignored && user.blocked && !blocked)
        {
            user.blocked = blocked;
        }
        user.modified = now();
        let body = self.single_user(call, &self.data.users[index], false);
        Ok(call.reply(StatusCode::OK, &body).committed())
    }

    /// Refuses to delete the administrator or the caller.
    pub(super) fn check_deletable(&self, index: usize, caller: u64) -> Result<(), Failure> {
        let id = self.data.users[index].id;
        if id == ADMIN_USER {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                format!("Could not delete \"User\" {ADMIN_USER}"),
            ));
        }
        if id == caller {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "Logged users cannot delete their own account",
            ));
        }
        Ok(())
    }

    pub(super) fn delete_user(&mut self, key: &str, caller: u64) -> Result<Reply, Failure> {
        let index = self.user_index(key, false)?;
        self.check_deletable(index, caller)?;
        let user = &mut self.data.users[index];
        user.deleted = true;
        user.modified = now();
        Ok(Reply::empty(StatusCode::NO_CONTENT).committed())
    }

    /// `DELETE /users?ids=5,6`: all or none.
    pub(super) fn delete_users(&mut self, call: &Call, caller: u64) -> Result<Reply, Failure> {
        let ids = call.request.query("ids").unwrap_or("").trim();
        if ids.is_empty() {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "Missing required parameter \"ids\"",
            ));
        }
        let mut indexes = Vec::new();
        for id in ids.split(',').map(str::trim) {
            if id.parse::<u64>().is_err() {
                return Err(invalid(format!("\"{id}\" is not an id")));
            }
            let index = self.user_index(id, false)?;
            self.check_deletable(index, caller)?;
            indexes.push(index);
        }
        let now = now();
        for index in indexes {
            let user = &mut self.data.users[index];
            user.deleted = true;
            user.modified = now;
        }
        Ok(Reply::empty(StatusCode::NO_CONTENT).committed())
    }
}
