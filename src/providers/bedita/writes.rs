//! Changes: creating users and roles without ever creating one twice, updates, role grants and
//! revokes, deletion to the trash and restoring from it.

use super::*;

impl Bedita {
    /// Creates a user, or a role, with `POST`. After a lost answer, a 5xx or a uniqueness error
    /// it looks the name up before trying again, so nothing is ever created twice. Also says
    /// whether what was found existed before (a uniqueness error on exactly this name), rather
    /// than being this run's own create whose answer was lost.
    pub(super) async fn create(
        &self,
        new: New<'_>,
        body: &Value,
    ) -> Result<(String, bool), ProviderError> {
        let (path, name) = match new {
            New::User(username) => ("/users", username.to_string()),
            New::Role(name) => ("/roles", format!("role {name}")),
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let outcome = self
                .call(
                    Method::POST,
                    path,
                    &[],
                    Some(body),
                    Kind::Write { idempotent: false },
                )
                .await;
            let unknown = match outcome {
                Ok(answer) if answer.status == StatusCode::CREATED => {
                    let doc: wire::Document<wire::Resource<Value>> =
                        parse(&answer, "create answer")?;
                    return Ok((doc.data.id, false));
                }
                Ok(answer) if answer.status.is_server_error() => {
                    format!("HTTP {}", answer.status.as_u16())
                }
                Ok(answer) => {
                    let err = api_error(&answer);
                    // Someone, or an earlier interrupted run, created it already. A uniqueness
                    // error proves nothing about which record (an email can be taken too): only
                    // one with exactly this name is taken over.
                    if answer.status == StatusCode::BAD_REQUEST
                        && err.to_string().contains(".unique]")
                        && let Some(id) = self.look_up(new).await?
                    {
                        return Ok((id, true));
                    }
                    return Err(err);
                }
                Err(ProviderError::Transport(err)) => err.to_string(),
                Err(err) => return Err(err),
            };
            tracing::info!("creating {name} has an unknown outcome ({unknown}); looking it up");
            if let Some(id) = self.look_up(new).await? {
                return Ok((id, false));
            }
            if attempts >= 4 {
                return Err(ProviderError::Protocol(format!(
                    "creating {name} got no answer {attempts} times ({unknown})"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200) * attempts).await;
        }
    }

    /// Creates a user; one that existed already is taken over and given the file's attributes.
    pub(super) async fn create_user(&self, action: &Action) -> Result<Effect, ProviderError> {
        // The username as the files write it; the key is its lower-case form.
        let username = action.after("username").unwrap_or(&action.user);
        let mut attributes = attributes_of(action);
        attributes.insert("username".into(), username.into());
        // Always explicit: BEdita's default status is `draft`, which cannot sign in.
        attributes.insert("status".into(), status_of(action.after("state")).into());
        if action.after("password").is_some() {
            let password = self.passwords.get(&action.user).ok_or_else(|| {
                ProviderError::Protocol(format!("no initial password is known for {username}"))
            })?;
            attributes.insert("password".into(), password.expose().into());
        }
        let body = json!({ "data": { "type": "users", "attributes": attributes.clone() } });
        let (id, adopted) = self.create(New::User(username), &body).await?;
        if adopted {
            // The existing record keeps its password and username; the rest is the file's.
            attributes.remove("password");
            attributes.remove("username");
            self.patch_user_with(&id, json!({ "attributes": attributes }))
                .await?;
        }
        Ok(Effect {
            id: Some(id),
            adopted,
        })
    }

    /// The id of what a create may have made already.
    pub(super) async fn look_up(&self, new: New<'_>) -> Result<Option<String>, ProviderError> {
        match new {
            New::User(username) => self.find_user(username).await,
            New::Role(name) => self.find_role(name).await,
        }
    }

    pub(super) async fn create_role(&self, action: &Action) -> Result<String, ProviderError> {
        let name = action.user.as_str();
        let mut attributes = serde_json::Map::new();
        attributes.insert("name".into(), name.into());
        if let Some(description) = action.after("description") {
            attributes.insert("description".into(), description.into());
        }
        let body = json!({ "data": { "type": "roles", "attributes": attributes } });
        let (id, _) = self.create(New::Role(name), &body).await?;
        self.remember_role(name, &id);
        Ok(id)
    }

    /// `PATCH /users/{id}` with `attributes`; the id goes in the body as a string.
    pub(super) async fn patch_user(
        &self,
        id: &str,
        attributes: serde_json::Map<String, Value>,
    ) -> Result<(), ProviderError> {
        self.patch_user_with(id, json!({ "attributes": attributes }))
            .await
    }

    /// `PATCH /users/{id}` with `data` members besides the id and type.
    pub(super) async fn patch_user_with(
        &self,
        id: &str,
        members: Value,
    ) -> Result<(), ProviderError> {
        let mut data = json!({ "id": id, "type": "users" });
        if let (Some(data), Value::Object(members)) = (data.as_object_mut(), members) {
            data.extend(members);
        }
        let body = json!({ "data": data });
        let path = format!("/users/{id}");
        let answer = self.write(Method::PATCH, &path, Some(&body)).await?;
        expect(answer, &[StatusCode::OK]).map(|_| ())
    }

    /// Changes the user's roles: `POST` adds, `DELETE` removes, `PATCH` replaces the set. A 204
    /// means there was nothing to change, which is as good.
    pub(super) async fn relate(
        &self,
        id: &str,
        method: Method,
        roles: &[&str],
    ) -> Result<(), ProviderError> {
        let mut data = Vec::with_capacity(roles.len());
        for role in roles {
            data.push(json!({ "type": "roles", "id": self.role_id(role).await? }));
        }
        let body = json!({ "data": data });
        let path = format!("/users/{id}/relationships/roles");
        let answer = self.write(method, &path, Some(&body)).await?;
        expect(answer, &[StatusCode::OK, StatusCode::NO_CONTENT]).map(|_| ())
    }

    /// A write that may be repeated safely, so the HTTP layer retries it after a lost answer.
    pub(super) async fn write(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ProviderError> {
        let kind = Kind::Write { idempotent: true };
        self.call(method, path, &[], body, kind).await
    }

    /// `DELETE` that counts a 404 as done: an earlier attempt whose answer was lost got there.
    pub(super) async fn delete(&self, path: &str) -> Result<(), ProviderError> {
        let answer = self.write(Method::DELETE, path, None).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        expect(answer, &[StatusCode::NO_CONTENT]).map(|_| ())
    }

    /// Takes a user out of the trash, then sets its status and, when the plan manages them, its
    /// whole role set (the trash does not show which roles it kept).
    pub(super) async fn restore(&self, id: &str, action: &Action) -> Result<(), ProviderError> {
        let path = format!("/trash/{id}");
        let body = json!({ "data": { "id": id, "type": "users" } });
        let answer = self.write(Method::PATCH, &path, Some(&body)).await?;
        // Not in the trash: restored already by an attempt whose answer was lost, or gone.
        if answer.status == StatusCode::NOT_FOUND {
            let user_path = format!("/users/{id}");
            let found = self
                .call(Method::GET, &user_path, &[], None, Kind::Read)
                .await?;
            if found.status != StatusCode::OK {
                return Err(api_error(&answer));
            }
        } else {
            expect(answer, &[StatusCode::NO_CONTENT, StatusCode::OK])?;
        }
        let status = status_of(action.after("state"));
        let mut attributes = serde_json::Map::new();
        attributes.insert("status".into(), status.into());
        self.patch_user(id, attributes).await?;
        if let Some(list) = action.after("roles") {
            let roles: Vec<&str> = list.split(", ").filter(|r| !r.is_empty()).collect();
            self.relate(id, Method::PATCH, &roles).await?;
        }
        Ok(())
    }
}

/// The user attributes an action sets, by their BEdita names.
pub(super) fn attributes_of(action: &Action) -> serde_json::Map<String, Value> {
    let mut attributes = serde_json::Map::new();
    for change in &action.changes {
        let name = match change.attribute.as_ref() {
            "language" => "lang",
            name @ ("email" | "name" | "surname") => name,
            _ => continue,
        };
        if let Some(value) = &change.after {
            attributes.insert(name.into(), value.clone().into());
        }
    }
    attributes
}

/// BEdita's `status` for a state.
pub(super) fn status_of(state: Option<&str>) -> &'static str {
    match state {
        Some(s) if s == State::Deactivated.as_str() => "off",
        _ => "on",
    }
}
