//! Piwik PRO Users API v2: the client.
//!
//! Authentication is OAuth2 client credentials; the bearer token is cached, renewed before it
//! expires and once more on a 401. Users are listed a thousand at a time, the remaining pages
//! concurrently once the total is known. Invites are never blindly retried: after a lost answer
//! the user is looked up by email first.

mod access;
pub mod connect;
pub mod sandbox;
pub mod wire;

pub use access::Reach;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::sync::Mutex;

use super::http::{Answer, Http, Kind, TransportError, Waits};
use super::{Account, Effect, ProviderError};
use crate::model::access::{AccessScope, Entity, LiveAccess, Named};
use crate::model::vocab::{SecretRef, State};
use crate::model::{LiveState, LiveUser};
use crate::plan::{Action, Op};
use wire::{MEDIA_TYPE, USER_TYPE};

/// How one row of a list's answer becomes what rollcall keeps.
type Parse<W, T> = fn(W) -> Result<T, ProviderError>;

/// What an invite found.
enum Invited {
    /// A new user, with its id.
    New(String),
    /// A user with exactly this email existed already.
    Existing(wire::UserResource),
}

/// A Piwik PRO account.
pub struct Piwik {
    http: Http,
    base: String,
    client_id: SecretRef,
    client_secret: SecretRef,
    token: Mutex<Option<Token>>,
}

struct Token {
    value: String,
    renew_at: Instant,
}

impl Piwik {
    pub fn new(base: &str, client_id: SecretRef, client_secret: SecretRef, http: Http) -> Self {
        Piwik {
            http,
            base: base.trim_end_matches('/').to_string(),
            client_id,
            client_secret,
            token: Mutex::new(None),
        }
    }

    /// A valid access token, fetched when there is none or it is about to expire.
    async fn token(&self, renew: bool) -> Result<String, ProviderError> {
        let mut token = self.token.lock().await;
        if let Some(t) = token
            .as_ref()
            .filter(|t| !renew && Instant::now() < t.renew_at)
        {
            return Ok(t.value.clone());
        }
        let url = format!("{}/auth/token", self.base);
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": self.client_id.value.expose(),
            "client_secret": self.client_secret.value.expose(),
        });
        let mut waits = Waits::default();
        let answer = loop {
            let answer = self
                .http
                .send(Method::POST, "/auth/token", Kind::Auth, |client, _| {
                    client.post(&url).json(&body)
                })
                .await?;
            if !self
                .http
                .wait_out(&answer, "/auth/token", &mut waits)
                .await?
            {
                break answer;
            }
        };
        if !answer.status.is_success() {
            let detail: serde_json::Value =
                serde_json::from_slice(&answer.body).unwrap_or_default();
            let reason = ["error_description", "error", "message"]
                .iter()
                .find_map(|k| detail.get(k).and_then(|v| v.as_str()))
                .unwrap_or("no reason given");
            return Err(ProviderError::Auth(format!(
                "Piwik PRO refused the credentials in `{}` and `{}` (HTTP {}: {reason})",
                self.client_id.var,
                self.client_secret.var,
                answer.status.as_u16()
            )));
        }
        let parsed: wire::TokenResponse = serde_json::from_slice(&answer.body)
            .map_err(|e| ProviderError::Protocol(format!("unexpected token response: {e}")))?;
        // A lifetime beyond a day is taken as a day: the token is renewed sooner, never later.
        let lifetime = Duration::from_secs(parsed.expires_in.min(86_400));
        // Renew a minute early, or a tenth of the lifetime for short-lived tokens.
        let margin = Duration::from_secs(60).min(lifetime / 10);
        *token = Some(Token {
            value: parsed.access_token.clone(),
            renew_at: Instant::now() + lifetime - margin,
        });
        Ok(parsed.access_token)
    }

    /// One API call with the bearer token. A 401 renews the token and tries again; a few times,
    /// since a token can also expire while a request waits out a rate limit.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        kind: Kind,
    ) -> Result<Answer, ProviderError> {
        self.call_as(method, path, query, body.map(|b| (b, MEDIA_TYPE)), kind)
            .await
    }

    /// [`Self::call`] with a body of another media type (group creation takes plain JSON).
    async fn call_as(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<(&serde_json::Value, &str)>,
        kind: Kind,
    ) -> Result<Answer, ProviderError> {
        let url = format!("{}{path}", self.base);
        let mut renewals = 0;
        let mut waits = Waits::default();
        loop {
            let token = self.token(renewals > 0).await?;
            let answer = self
                .http
                .send(method.clone(), path, kind, |client, _| {
                    let mut request = client
                        .request(method.clone(), &url)
                        .bearer_auth(&token)
                        .header("Accept", MEDIA_TYPE)
                        .query(query);
                    if let Some((body, media)) = body {
                        request = request.header("Content-Type", media).body(body.to_string());
                    }
                    request
                })
                .await?;
            if self.http.wait_out(&answer, path, &mut waits).await? {
                continue;
            }
            if answer.status == StatusCode::UNAUTHORIZED && renewals < 3 {
                renewals += 1;
                continue;
            }
            if answer.status == StatusCode::UNAUTHORIZED {
                return Err(ProviderError::Auth(format!(
                    "Piwik PRO rejected a fresh access token for `{}`",
                    self.client_id.var
                )));
            }
            return Ok(answer);
        }
    }

    /// Fails with the service's own errors unless the answer has `expected` status.
    fn expect(answer: Answer, expected: StatusCode) -> Result<Answer, ProviderError> {
        if answer.status == expected {
            Ok(answer)
        } else {
            Err(Self::api_error(&answer))
        }
    }

    /// The service's own errors from an answer.
    fn api_error(answer: &Answer) -> ProviderError {
        let body: wire::ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
        ProviderError::Api {
            status: answer.status.as_u16(),
            errors: body.errors.iter().map(ToString::to_string).collect(),
            codes: body.errors.iter().filter_map(|e| e.code.clone()).collect(),
        }
    }

    /// One page of the list at `path`.
    async fn page<W: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        offset: usize,
        limit: usize,
    ) -> Result<wire::Page<W>, ProviderError> {
        let mut query = query.to_vec();
        query.extend([("offset", offset.to_string()), ("limit", limit.to_string())]);
        let answer = self
            .call(Method::GET, path, &query, None, Kind::Read)
            .await?;
        let answer = Self::expect(answer, StatusCode::OK)?;
        serde_json::from_slice(&answer.body)
            .map_err(|e| ProviderError::Protocol(format!("unexpected answer from {path}: {e}")))
    }

    /// Every row of the list at `path`, a thousand a page: the first page says how many there
    /// are and how long the service makes a page, the rest come concurrently. Each page is
    /// turned into rows by `map` as it arrives, so the wire form of every row is never held at
    /// once. A page shorter than it should be, or a total that changed, fails the read: what
    /// was not seen is never taken for absent.
    async fn list_all<W, T>(
        self: &Arc<Self>,
        path: &str,
        query: &[(&'static str, &'static str)],
        what: &'static str,
        map: Parse<W, T>,
        id: fn(&T) -> &str,
    ) -> Result<Vec<T>, ProviderError>
    where
        W: serde::de::DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        let path: Arc<str> = path.into();
        let query: Arc<[(&'static str, String)]> =
            query.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let first = self.page::<W>(&path, &query, 0, wire::MAX_PAGE).await?;
        super::check_list_size(first.meta.total, what)?;
        let total = usize::try_from(first.meta.total).unwrap_or(usize::MAX);
        // Pages are as long as the service makes them: the first one says how long that is,
        // whatever was asked for.
        let step = first.data.len();
        let mut rows: Vec<T> = Vec::with_capacity(total.min(1 << 20));
        for row in first.data {
            rows.push(map(row)?);
        }
        let mut short = false;
        if step > 0 && step < total {
            let offsets = (step..total).step_by(step).map(|offset| offset as u64);
            let this = self.clone();
            let place = |page: Vec<(bool, Vec<T>)>| {
                for (complete, page) in page {
                    short |= !complete;
                    rows.extend(page);
                }
            };
            super::fetch_pages_in_order(
                offsets,
                move |offset| {
                    let (this, path, query) = (this.clone(), path.clone(), query.clone());
                    async move {
                        let offset = offset as usize;
                        let page = this.page::<W>(&path, &query, offset, step).await?;
                        let expected = step.min(total - offset);
                        let complete = page.data.len() == expected;
                        let rows = page
                            .data
                            .into_iter()
                            .map(map)
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(vec![(complete, rows)])
                    }
                },
                place,
            )
            .await?;
        }
        // Each id once: a page that moved under a concurrent change may repeat one. The ids are
        // compared where they are, not copied.
        let repeated: std::collections::BTreeSet<usize> = {
            let mut seen = std::collections::HashSet::with_capacity(rows.len());
            (0..rows.len())
                .filter(|&i| !seen.insert(id(&rows[i])))
                .collect()
        };
        if !repeated.is_empty() {
            let mut at = 0;
            rows.retain(|_| {
                at += 1;
                !repeated.contains(&(at - 1))
            });
        }
        if short || rows.len() != total {
            return Err(ProviderError::Protocol(format!(
                "read {} of {total} {what} from {}; {}. Nothing was planned",
                rows.len(),
                self.base,
                if step == 0 && total > 0 {
                    "the service returned an empty first page"
                } else if short {
                    "the service returned fewer per page than asked, or the account changed while it was read"
                } else {
                    "the account changed while it was read"
                }
            )));
        }
        Ok(rows)
    }

    /// Every user.
    pub async fn list(self: &Arc<Self>) -> Result<Vec<LiveUser>, ProviderError> {
        self.list_all(
            "/api/users/v2",
            &[("sort", "addedAt")],
            "users",
            |r| Ok(live_user(r)),
            |u: &LiveUser| &u.id,
        )
        .await
    }

    async fn me(&self) -> Result<wire::UserResource, ProviderError> {
        let answer = self
            .call(Method::GET, "/api/users/v2/me", &[], None, Kind::Read)
            .await?;
        let answer = Self::expect(answer, StatusCode::OK)?;
        let doc: wire::UserDocument = serde_json::from_slice(&answer.body)
            .map_err(|e| ProviderError::Protocol(format!("unexpected user: {e}")))?;
        Ok(doc.data)
    }

    /// The user with exactly this email (case-insensitive), if any.
    async fn find_by_email(
        &self,
        email: &str,
    ) -> Result<Option<wire::UserResource>, ProviderError> {
        let query = [
            ("search", email.to_string()),
            ("limit", wire::MAX_PAGE.to_string()),
        ];
        let answer = self
            .call(Method::GET, "/api/users/v2", &query, None, Kind::Read)
            .await?;
        let answer = Self::expect(answer, StatusCode::OK)?;
        let list: wire::Page<wire::UserResource> = serde_json::from_slice(&answer.body)
            .map_err(|e| ProviderError::Protocol(format!("unexpected user list: {e}")))?;
        Ok(list
            .data
            .into_iter()
            .find(|u| u.attributes.email.trim().eq_ignore_ascii_case(email.trim())))
    }

    /// Invites a user. After a lost answer or a 5xx the email is looked up before trying again,
    /// so the user is never invited twice.
    /// Invites `email`, or takes over the user with exactly that email when the service says it
    /// exists already (someone else, or an interrupted run, invited them): then the file's
    /// language is set on it too. Never invites twice.
    async fn invite(&self, email: &str, language: Option<&str>) -> Result<Effect, ProviderError> {
        let (id, adopted) = match self.send_invite(email, language).await? {
            Invited::New(id) => (id, false),
            Invited::Existing(user) => {
                if let Some(language) =
                    language.filter(|l| user.attributes.language.as_deref() != Some(*l))
                {
                    self.patch(&user.id, "", json!({ "language": language }))
                        .await?;
                }
                (user.id, true)
            }
        };
        Ok(Effect {
            id: Some(id),
            adopted,
        })
    }

    async fn send_invite(
        &self,
        email: &str,
        language: Option<&str>,
    ) -> Result<Invited, ProviderError> {
        let mut attributes = json!({ "email": email });
        if let Some(language) = language {
            attributes["language"] = language.into();
        }
        let body = json!({ "data": { "type": USER_TYPE, "attributes": attributes } });
        let mut attempts = 0;
        loop {
            attempts += 1;
            let outcome = self
                .call(
                    Method::POST,
                    "/api/users/v2/invite",
                    &[],
                    Some(&body),
                    Kind::Write { idempotent: false },
                )
                .await;
            let unknown = match outcome {
                Ok(answer) if answer.status == StatusCode::CREATED => {
                    let doc: wire::UserDocument =
                        serde_json::from_slice(&answer.body).map_err(|e| {
                            ProviderError::Protocol(format!("unexpected invite answer: {e}"))
                        })?;
                    return Ok(Invited::New(doc.data.id));
                }
                Ok(answer) if answer.status.is_server_error() => {
                    format!("HTTP {}", answer.status.as_u16())
                }
                Ok(answer) => {
                    let err = Self::api_error(&answer);
                    // Someone (perhaps an earlier, interrupted run) invited them already.
                    // A "taken" error proves nothing about which user: only one with exactly this
                    // email is taken over.
                    if err.has_code("users.error.user-already-exists")
                        && let Some(user) = self.find_by_email(email).await?
                    {
                        return Ok(Invited::Existing(user));
                    }
                    return Err(err);
                }
                Err(ProviderError::Transport(err)) => err.to_string(),
                Err(err) => return Err(err),
            };
            tracing::info!("invite of {email} has an unknown outcome ({unknown}); looking it up");
            if let Some(user) = self.find_by_email(email).await? {
                return Ok(Invited::New(user.id));
            }
            if attempts >= 4 {
                return Err(ProviderError::Protocol(format!(
                    "the invite got no answer {attempts} times ({unknown})"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200) * attempts).await;
        }
    }

    async fn patch(
        &self,
        id: &str,
        suffix: &str,
        attributes: serde_json::Value,
    ) -> Result<(), ProviderError> {
        let path = format!("/api/users/v2/{id}{suffix}");
        let body = json!({ "data": { "type": USER_TYPE, "id": id, "attributes": attributes } });
        let answer = self
            .call(
                Method::PATCH,
                &path,
                &[],
                Some(&body),
                Kind::Write { idempotent: true },
            )
            .await?;
        Self::expect(answer, StatusCode::NO_CONTENT).map(|_| ())
    }

    async fn delete(&self, id: &str) -> Result<(), ProviderError> {
        self.delete_at(&format!("/api/users/v2/{id}")).await
    }

    /// Deletes the resource at `path`. One gone already (an earlier attempt whose answer was
    /// lost) is what was asked for; the read after the apply confirms it.
    async fn delete_at(&self, path: &str) -> Result<(), ProviderError> {
        let answer = self
            .call(
                Method::DELETE,
                path,
                &[],
                None,
                Kind::Write { idempotent: true },
            )
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Self::expect(answer, StatusCode::NO_CONTENT).map(|_| ())
    }
}

fn live_user(resource: wire::ListedUser) -> LiveUser {
    let attributes = resource.attributes;
    let role = if attributes.role.chars().all(|c| c.is_ascii_lowercase()) {
        attributes.role
    } else {
        attributes.role.to_lowercase()
    };
    LiveUser {
        id: resource.id,
        key: attributes.email.trim().to_lowercase(),
        spelling: None,
        blocked: false,
        email: Some(attributes.email),
        state: State::Active,
        attributes: attributes
            .language
            .map(|l| ("language", l))
            .into_iter()
            .collect(),
        roles: [role].into_iter().collect(),
    }
}

impl Account for Arc<Piwik> {
    async fn fetch(&self) -> Result<LiveState, ProviderError> {
        let (users, me) = tokio::try_join!(self.list(), self.me())?;
        let own = me.attributes.email.trim().to_lowercase();
        Ok(LiveState::new(users, Some(own)))
    }

    async fn fetch_access(&self, scope: &AccessScope) -> Result<LiveAccess, ProviderError> {
        let grants = |entity: Entity, named: &Named| scope.covers(entity, named);
        let reach = access::Reach {
            grants: &grants,
            members: &|_| true,
        };
        self.read_access(&reach).await
    }

    async fn execute(&self, action: &Action, id: Option<&str>) -> Result<Effect, ProviderError> {
        if action.op == Op::Create {
            let email = action.after("email").unwrap_or(&action.user);
            return self.invite(email, action.after("language")).await;
        }
        if action.op.is_access() {
            return self.carry_out_action(action, id).await.map(Effect::from);
        }
        self.carry_out(action, id).await.map(Effect::from)
    }
}

impl Piwik {
    /// Every action but an invite.
    async fn carry_out(
        &self,
        action: &Action,
        id: Option<&str>,
    ) -> Result<Option<String>, ProviderError> {
        let need_id =
            || id.ok_or_else(|| ProviderError::Protocol("the user's id is not known".into()));
        match action.op {
            Op::Create => Err(ProviderError::Protocol(
                "an invite goes through `invite`".into(),
            )),
            Op::Update => {
                let mut attributes = serde_json::Map::new();
                for change in &action.changes {
                    if let Some(after) = &change.after {
                        attributes.insert(change.attribute.to_string(), after.clone().into());
                    }
                }
                self.patch(need_id()?, "", attributes.into())
                    .await
                    .map(|_| None)
            }
            Op::Promote | Op::Demote => {
                let role = action.after("role").unwrap_or_default().to_uppercase();
                self.patch(need_id()?, "/change-role", json!({ "role": role }))
                    .await
                    .map(|_| None)
            }
            Op::Delete => self.delete(need_id()?).await.map(|_| None),
            Op::Deactivate | Op::Reactivate | Op::Restore | Op::EndSessions => {
                Err(ProviderError::Protocol(
                    "Piwik PRO has no deactivated or deleted users to bring back".into(),
                ))
            }
            Op::Grant | Op::Revoke | Op::CreateRole | Op::UpdateRole | Op::DeleteRole => Err(
                ProviderError::Protocol("Piwik PRO has one fixed role per user".into()),
            ),
            crate::plan::access_ops!() => Err(ProviderError::Protocol(
                "an access step goes through `carry_out_action`".into(),
            )),
        }
    }
}

impl From<TransportError> for ProviderError {
    fn from(err: TransportError) -> Self {
        ProviderError::Transport(err)
    }
}
