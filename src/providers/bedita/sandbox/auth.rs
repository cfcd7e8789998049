//! Signing in, renewing, and who is asking.

use super::*;

impl Inner {
    pub(super) fn authenticate(&self, token: &str) -> Result<Caller, Failure> {
        match self.access.get(token) {
            Some(access) if access.expires <= Instant::now() => {
                let mut failure = Failure::new(StatusCode::UNAUTHORIZED, "Expired token");
                failure.code = Some("be_token_expired");
                Err(failure)
            }
            Some(access) => Ok(access.user.map_or(Caller::App, Caller::User)),
            None => Err(Failure::new(
                StatusCode::UNAUTHORIZED,
                "Request not authorized",
            )),
        }
    }

    pub(super) fn login(
        &mut self,
        call: &Call,
        key: Key,
        lifetime: Duration,
    ) -> Result<Reply, Failure> {
        let fields = credentials(call.request)?;
        let field = |name: &str| fields.get(name).map(String::as_str);
        let denied = || Failure::new(StatusCode::UNAUTHORIZED, "Login request not successful");
        let user = match field("grant_type") {
            Some("password") => {
                if key != Key::Valid {
                    return Err(Failure::new(StatusCode::FORBIDDEN, "Missing API key"));
                }
                let (Some(username), Some(password)) = (field("username"), field("password"))
                else {
                    return Err(denied());
                };
                let hash = password_hash(password);
                let user = self
                    .data
                    .users
                    .iter()
                    .find(|u| same_text(Some(&u.username), username))
                    .filter(|u| can_log_in(u) && u.password_hash.as_deref() == Some(&hash))
                    .ok_or_else(denied)?;
                Some(user.id)
            }
            Some("client_credentials") => {
                let secret = self.data.client_secret.as_str();
                if secret.is_empty()
                    || field("client_id") != Some(self.data.api_key.as_str())
                    || field("client_secret") != Some(secret)
                {
                    return Err(denied());
                }
                None
            }
            Some("refresh_token") => {
                let renews = bearer(call.request)
                    .and_then(|token| self.renew.get(token))
                    .copied()
                    .ok_or_else(denied)?;
                if let Some(id) = renews
                    && !self.data.users.iter().any(|u| u.id == id && can_log_in(u))
                {
                    return Err(denied());
                }
                renews
            }
            _ => return Err(denied()),
        };
        let now = Instant::now();
        self.access
            .retain(|_, a| now.saturating_duration_since(a.expires) < EXPIRED_MEMORY);
        let jwt = uuid::Uuid::new_v4().simple().to_string();
        let renew = uuid::Uuid::new_v4().simple().to_string();
        let expires = now
            .checked_add(lifetime.min(LONGEST_LIFETIME))
            .unwrap_or(now);
        self.access.insert(jwt.clone(), Access { user, expires });
        self.renew.insert(renew.clone(), user);
        Ok(call.reply(
            StatusCode::OK,
            &json!({ "links": call.links(), "meta": { "jwt": jwt, "renew": renew } }),
        ))
    }

    pub(super) fn whoami(&self, call: &Call) -> Result<Reply, Failure> {
        let unauthorized = || Failure::new(StatusCode::UNAUTHORIZED, "Request not authorized");
        let Caller::User(id) = call.caller else {
            return Err(unauthorized());
        };
        let user = self
            .data
            .users
            .iter()
            .find(|u| u.id == id && !u.deleted)
            .ok_or_else(unauthorized)?;
        Ok(call.reply(StatusCode::OK, &self.single_user(call, user, true)))
    }

    pub(super) fn home(&self, call: &Call) -> Reply {
        let mut resources = Map::new();
        for (path, allow) in [
            ("/auth", ["POST"].as_slice()),
            ("/roles", &["GET", "POST"]),
            ("/trash", &["GET"]),
            ("/users", &["GET", "POST", "DELETE"]),
        ] {
            resources.insert(
                path.into(),
                json!({ "href": call.url(path), "hints": { "allow": allow, "formats": [MEDIA_TYPE, JSON] } }),
            );
        }
        call.reply(
            StatusCode::OK,
            &json!({
                "links": call.links(),
                "meta": { "resources": resources, "project": { "name": "BEdita sandbox" }, "version": VERSION },
            }),
        )
    }
}
