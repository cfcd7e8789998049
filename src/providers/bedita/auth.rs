//! Signing in: the API key, `POST /auth` with a password or the client secret, and renewing
//! the access token once for every call that saw it expire.

use super::*;

impl Bedita {
    /// The access token: the cached one, or a new one when there is none or `stale` is the one
    /// the server just called expired. Concurrent calls that all saw the same token expire
    /// renew it once.
    pub(super) async fn token(&self, stale: Option<&str>) -> Result<String, ProviderError> {
        let mut tokens = self.tokens.lock().await;
        match tokens.as_ref() {
            Some(t) if stale != Some(t.jwt.as_str()) => return Ok(t.jwt.clone()),
            _ => {}
        }
        // A renewal first, when there is a renew token; a full sign-in if it is refused.
        let renewed = match tokens.as_ref().and_then(|t| t.renew.clone()) {
            Some(renew) => self
                .auth(json!({ "grant_type": "refresh_token" }), Some(&renew))
                .await
                .ok(),
            None => None,
        };
        let fresh = match renewed {
            Some(fresh) => fresh,
            None => self.sign_in().await?,
        };
        *tokens = Some(fresh.clone());
        Ok(fresh.jwt)
    }

    pub(super) async fn sign_in(&self) -> Result<Tokens, ProviderError> {
        let (body, vars) = match &self.login {
            Login::Password { username, password } => (
                json!({
                    "grant_type": "password",
                    "username": username.value.expose(),
                    "password": password.value.expose(),
                }),
                format!("`{}` and `{}`", username.var, password.var),
            ),
            Login::Client { secret } => (
                json!({
                    "grant_type": "client_credentials",
                    "client_id": self.api_key.value.expose(),
                    "client_secret": secret.value.expose(),
                }),
                format!("`{}` and `{}`", self.api_key.var, secret.var),
            ),
        };
        self.auth(body, None).await.map_err(|err| match err {
            ProviderError::Api { status, errors, .. } => {
                // A 403 is about the application, before any user is looked at.
                let what = if status == 403 {
                    format!("the API key in `{}`", self.api_key.var)
                } else {
                    format!("the credentials in {vars}")
                };
                let reason = if errors.is_empty() {
                    "no reason given".to_string()
                } else {
                    errors.join("; ")
                };
                ProviderError::Auth(format!("BEdita refused {what} (HTTP {status}: {reason})"))
            }
            other => other,
        })
    }

    /// `POST /auth` with `body`, as plain JSON (the endpoint does not take JSON:API).
    pub(super) async fn auth(
        &self,
        body: Value,
        bearer: Option<&str>,
    ) -> Result<Tokens, ProviderError> {
        let url = format!("{}/auth", self.base);
        let mut waits = Waits::default();
        let answer = loop {
            let answer = self
                .http
                .send(Method::POST, "/auth", Kind::Auth, |client, _| {
                    let mut request = client
                        .post(&url)
                        .header("X-Api-Key", self.api_key.value.expose())
                        .header("Accept", MEDIA_TYPE)
                        .header("Content-Type", "application/json")
                        .body(body.to_string());
                    if let Some(bearer) = bearer {
                        request = request.bearer_auth(bearer);
                    }
                    request
                })
                .await?;
            if !self.http.wait_out(&answer, "/auth", &mut waits).await? {
                break answer;
            }
        };
        let answer = expect(answer, &[StatusCode::OK])?;
        let parsed: wire::AuthResponse = parse(&answer, "sign-in answer")?;
        Ok(Tokens {
            jwt: parsed.meta.jwt,
            renew: parsed.meta.renew,
        })
    }
}
