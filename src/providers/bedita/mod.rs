//! BEdita 5: the client.
//!
//! Every request carries `X-Api-Key` and `Accept: application/vnd.api+json`, exactly; JSON:API
//! writes send the same `Content-Type`. `POST /auth`, which takes plain JSON, signs in (`grant_type` `password`, or
//! `client_credentials` for reading only); when a call answers 401 with `be_token_expired` the
//! token is renewed with `grant_type=refresh_token` and the call tried again. Users are listed a
//! hundred at a time with their roles included, the remaining pages concurrently once the page
//! count is known; the trash is read too, so a user the files want back is restored rather than
//! re-created. Roles are resources, granted and revoked through the user's `roles` relationship.

pub mod connect;
pub mod sandbox;
pub mod wire;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::http::{Answer, Http, Kind, Waits};
use super::{Account, Effect, ProviderError};
use crate::model::vocab::{Secret, SecretRef, State};
use crate::model::{LiveRole, LiveState, LiveUser, Names};
use crate::plan::{Action, Op};
use wire::MEDIA_TYPE;

mod auth;
mod writes;

use writes::*;

/// How rollcall signs in.
pub enum Login {
    /// A BEdita user; needed for any change.
    Password {
        username: SecretRef,
        password: SecretRef,
    },
    /// The application alone (`client_id` is the API key): enough to read.
    Client { secret: SecretRef },
}

/// A BEdita 5 project.
pub struct Bedita {
    http: Http,
    base: String,
    api_key: SecretRef,
    login: Login,
    tokens: Mutex<Option<Tokens>>,
    /// Initial passwords by username, sent only on create.
    passwords: HashMap<String, Secret>,
    /// Role ids by name, read with the users and extended as roles are created.
    roles: std::sync::Mutex<HashMap<String, String>>,
}

/// Turns one page of a list into normalised items.
type PageReader<A, T> = fn(wire::ListDocument<wire::Resource<A>>) -> Result<Vec<T>, ProviderError>;

/// What a `POST` creates.
#[derive(Clone, Copy)]
enum New<'a> {
    User(&'a str),
    Role(&'a str),
}

#[derive(Clone)]
struct Tokens {
    jwt: String,
    renew: Option<String>,
}

impl Bedita {
    pub fn new(
        base: &str,
        api_key: SecretRef,
        login: Login,
        passwords: HashMap<String, Secret>,
        http: Http,
    ) -> Self {
        Bedita {
            http,
            base: base.trim_end_matches('/').to_string(),
            api_key,
            login,
            tokens: Mutex::new(None),
            passwords,
            roles: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Why these credentials cannot change the project, if they cannot.
    pub fn read_only(&self) -> Option<&'static str> {
        match self.login {
            Login::Client { .. } => Some(
                "BEdita makes changes only for a signed-in user; give the target `username` and `password` credentials (a `client_secret` can only plan)",
            ),
            Login::Password { .. } => None,
        }
    }

    /// One API call, signed in. A token the server calls expired (or, once, any token it
    /// refuses) is renewed, or replaced by a fresh sign-in, and the call tried again.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        kind: Kind,
    ) -> Result<Answer, ProviderError> {
        let url = format!("{}{path}", self.base);
        let mut stale: Option<String> = None;
        let mut renewals = 0;
        let mut waits = Waits::default();
        loop {
            let token = self.token(stale.as_deref()).await?;
            let answer = self
                .http
                .send(method.clone(), path, kind, |client, _| {
                    let mut request = client
                        .request(method.clone(), &url)
                        .header("X-Api-Key", self.api_key.value.expose())
                        .header("Accept", MEDIA_TYPE)
                        .bearer_auth(&token)
                        .query(query);
                    if let Some(body) = body {
                        request = request
                            .header("Content-Type", MEDIA_TYPE)
                            .body(body.to_string());
                    }
                    request
                })
                .await?;
            if self.http.wait_out(&answer, path, &mut waits).await? {
                continue;
            }
            // A token can also expire while a request waits out a rate limit, hence a few.
            if answer.status == StatusCode::UNAUTHORIZED && renewals < 3 {
                let err = api_error(&answer);
                if err.has_code("be_token_expired") || renewals == 0 {
                    tracing::debug!("{path}: {err}; signing in again");
                    renewals += 1;
                    stale = Some(token);
                    continue;
                }
            }
            return Ok(answer);
        }
    }

    /// Every page of a list, the first alone, the rest concurrently; each page is turned into
    /// `T`s by `read` as it arrives.
    async fn list_all<A, T>(
        self: &Arc<Self>,
        path: &'static str,
        query: Vec<(&'static str, String)>,
        read: PageReader<A, T>,
    ) -> Result<Vec<T>, ProviderError>
    where
        A: serde::de::DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        let first = self.page::<A>(path, &query, 1).await?;
        let (pages, count) = first
            .meta
            .pagination
            .as_ref()
            .map(|p| (p.page_count, p.count))
            .ok_or_else(|| {
                ProviderError::Protocol(format!("BEdita's {path} list has no meta.pagination"))
            })?;
        super::check_list_size(
            count.unwrap_or(pages.saturating_mul(wire::MAX_PAGE as u64)),
            &format!("entries in {path}"),
        )?;
        let mut seen = first.data.len() as u64;
        let mut items = read(first)?;
        let this = self.clone();
        let rest = super::fetch_pages(2..=pages, move |number| {
            let this = this.clone();
            let query = query.clone();
            async move {
                let page = this.page::<A>(path, &query, number).await?;
                let entries = page.data.len() as u64;
                Ok(vec![(entries, read(page)?)])
            }
        })
        .await?;
        for (entries, page) in rest {
            seen += entries;
            items.extend(page);
        }
        // What was read must add up to what the server counts, or the plan would be made on
        // part of the project.
        if let Some(count) = count.filter(|&count| count != seen) {
            return Err(ProviderError::Protocol(format!(
                "read {seen} of {count} entries of {path} from {}; the service returned fewer per page than its page count implies, or the project changed while it was read. Nothing was planned",
                self.base
            )));
        }
        Ok(items)
    }

    async fn page<A: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        number: u64,
    ) -> Result<wire::ListDocument<wire::Resource<A>>, ProviderError> {
        let mut query = query.to_vec();
        // A stable order, so pages read concurrently neither overlap nor leave gaps.
        query.push(("sort", "id".to_string()));
        query.push(("page", number.to_string()));
        query.push(("page_size", wire::MAX_PAGE.to_string()));
        let answer = self
            .call(Method::GET, path, &query, None, Kind::Read)
            .await?;
        let answer = expect(answer, &[StatusCode::OK])?;
        parse(&answer, path)
    }

    /// The id of the role called `name`, asking the server when it was not read with the users.
    async fn role_id(&self, name: &str) -> Result<String, ProviderError> {
        if let Some(id) = self.known_role(name) {
            return Ok(id);
        }
        self.find_role(name)
            .await?
            .ok_or_else(|| ProviderError::Protocol(format!("BEdita has no role `{name}`")))
    }

    /// The first page of `path` whose `filter` is `value`: lookups by a unique name.
    async fn filtered<A: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        filter: &'static str,
        value: &str,
    ) -> Result<Vec<wire::Resource<A>>, ProviderError> {
        let query = [(filter, value.to_string())];
        let answer = self
            .call(Method::GET, path, &query, None, Kind::Read)
            .await?;
        let answer = expect(answer, &[StatusCode::OK])?;
        let list: wire::ListDocument<wire::Resource<A>> = parse(&answer, path)?;
        Ok(list.data)
    }

    /// The id of the role called `name` on the server, if there is one.
    async fn find_role(&self, name: &str) -> Result<Option<String>, ProviderError> {
        let found = self
            .filtered::<wire::RoleAttributes>("/roles", "filter[name]", name)
            .await?;
        let id = found
            .into_iter()
            .find(|r| r.attributes.name == name)
            .map(|r| r.id);
        if let Some(id) = &id {
            self.remember_role(name, id);
        }
        Ok(id)
    }

    fn known_role(&self, name: &str) -> Option<String> {
        self.roles.lock().ok()?.get(name).cloned()
    }

    fn remember_role(&self, name: &str, id: &str) {
        if let Ok(mut roles) = self.roles.lock() {
            roles.insert(name.to_string(), id.to_string());
        }
    }

    /// The active user called `username`, if any.
    async fn find_user(&self, username: &str) -> Result<Option<String>, ProviderError> {
        let found = self
            .filtered::<wire::UserAttributes>("/users", "filter[username]", username)
            .await?;
        Ok(found
            .into_iter()
            .find(|u| {
                u.attributes
                    .username
                    .as_deref()
                    .is_some_and(|found| username_key(found) == username_key(username))
            })
            .map(|u| u.id))
    }
}

pub use crate::model::capabilities::username_key;

/// Fails with the server's own error unless the answer has one of the `expected` statuses.
fn expect(answer: Answer, expected: &[StatusCode]) -> Result<Answer, ProviderError> {
    if expected.contains(&answer.status) {
        Ok(answer)
    } else {
        Err(api_error(&answer))
    }
}

/// The server's error object, verbatim.
fn api_error(answer: &Answer) -> ProviderError {
    let body: wire::ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let error = body.error.unwrap_or_default();
    let text = error.to_string();
    ProviderError::Api {
        status: answer.status.as_u16(),
        errors: if text.is_empty() {
            Vec::new()
        } else {
            vec![text]
        },
        codes: error.code.into_iter().collect(),
    }
}

fn parse<T: serde::de::DeserializeOwned>(answer: &Answer, what: &str) -> Result<T, ProviderError> {
    serde_json::from_slice(&answer.body)
        .map_err(|e| ProviderError::Protocol(format!("unexpected {what} from BEdita: {e}")))
}

/// A listed user, normalised, with the ids of its roles; `trashed` users are
/// [`State::Absent`]. `None` for an entry with no username.
fn live_user(resource: wire::Resource<wire::UserAttributes>, trashed: bool) -> Option<LiveUser> {
    let a = resource.attributes;
    let username = a.username?;
    let blocked = resource.meta.as_ref().and_then(|m| m.blocked) == Some(true);
    let state = match (trashed, a.status.as_deref()) {
        (true, _) => State::Absent,
        (false, Some("on")) if !blocked => State::Active,
        // `off`, `draft` and blocked users cannot sign in.
        (false, _) => State::Deactivated,
    };
    let mut attributes = crate::model::Attributes::default();
    for (name, value) in [
        ("email", &a.email),
        ("name", &a.name),
        ("surname", &a.surname),
        ("language", &a.lang),
    ] {
        if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
            attributes.insert(name, value.clone());
        }
    }
    // Role data the server left out is unknown, not "no roles": the caller reads it another way.
    let roles: Names = match resource
        .relationships
        .and_then(|r| r.roles)
        .and_then(|r| r.data)
    {
        Some(identifiers) => identifiers.into_iter().map(|i| i.id).collect(),
        None if trashed => Names::default(),
        None => [ROLES_UNKNOWN.to_string()].into_iter().collect(),
    };
    Some(LiveUser {
        id: resource.id,
        key: username_key(&username),
        spelling: Some(username.clone()),
        blocked,
        email: a.email.filter(|e| !e.is_empty()),
        state,
        attributes,
        roles,
    })
}

fn read_roles(
    page: wire::ListDocument<wire::Resource<wire::RoleAttributes>>,
) -> Result<Vec<LiveRole>, ProviderError> {
    Ok(page
        .data
        .into_iter()
        .map(|r| LiveRole {
            builtin: r.id == "1" || r.meta.and_then(|m| m.unchangeable).unwrap_or(false),
            id: r.id,
            name: r.attributes.name,
            description: r.attributes.description,
        })
        .collect())
}

/// Stands in a user's role set while the list did not show its roles.
const ROLES_UNKNOWN: &str = "\u{0}unknown";

/// Only the ids of a page of users.
fn read_ids(
    page: wire::ListDocument<wire::Resource<wire::UserAttributes>>,
) -> Result<Vec<String>, ProviderError> {
    Ok(page.data.into_iter().map(|u| u.id).collect())
}

/// Users, with the ids of their roles.
fn read_users(
    page: wire::ListDocument<wire::Resource<wire::UserAttributes>>,
) -> Result<Vec<LiveUser>, ProviderError> {
    page.data
        .into_iter()
        .map(|u| {
            let id = u.id.clone();
            live_user(u, false)
                .ok_or_else(|| ProviderError::Protocol(format!("BEdita user {id} has no username")))
        })
        .collect()
}

/// Users in the trash. An entry that does not show its username cannot be matched to a file, so
/// it is left out: such a user, if the files want it back, meets BEdita's uniqueness check.
fn read_trash(
    page: wire::ListDocument<wire::Resource<wire::UserAttributes>>,
) -> Result<Vec<LiveUser>, ProviderError> {
    let users: Vec<LiveUser> = page
        .data
        .into_iter()
        .filter(|r| r.kind == "users")
        .filter_map(|u| live_user(u, true))
        .collect();
    Ok(users)
}

impl Account for Arc<Bedita> {
    async fn fetch(&self) -> Result<LiveState, ProviderError> {
        let include = vec![("include", "roles".to_string())];
        let trash = vec![("filter[type]", "users".to_string())];
        // Sign in first, so the concurrent reads share one token.
        self.token(None).await?;
        let (roles, mut users, trashed) = tokio::try_join!(
            self.list_all("/roles", Vec::new(), read_roles),
            self.list_all("/users", include, read_users),
            self.list_all("/trash", trash, read_trash),
        )?;
        if let Ok(mut known) = self.roles.lock() {
            known.extend(roles.iter().map(|r| (r.name.clone(), r.id.clone())));
        }
        if users.iter().any(|u| u.roles.contains(ROLES_UNKNOWN)) {
            // The list left out role data (a proxy, an older release or a plugin can): read each
            // role's holders instead, a few list calls rather than one per user.
            tracing::info!(
                "BEdita's user list left out role data; reading each role's users with filter[roles]"
            );
            let mut held: HashMap<String, Names> = HashMap::new();
            for role in &roles {
                let filter = vec![("filter[roles]", role.id.clone())];
                for id in self.list_all("/users", filter, read_ids).await? {
                    held.entry(id).or_default().insert(role.id.clone());
                }
            }
            for user in &mut users {
                user.roles = held.remove(&user.id).unwrap_or_default();
            }
        } else {
            tracing::info!("BEdita's user list showed each user's roles (include=roles)");
        }
        let names: HashMap<&str, &str> = roles
            .iter()
            .map(|r| (r.id.as_str(), r.name.as_str()))
            .collect();
        for user in &mut users {
            user.roles = std::mem::take(&mut user.roles)
                .into_iter()
                .map(|id| match names.get(id.as_str()) {
                    Some(name) => (*name).to_string(),
                    None => format!("#{id}"),
                })
                .collect();
        }
        // Each user once; one that moved between the lists while they were read, as active.
        let mut seen: BTreeSet<String> = BTreeSet::new();
        users.retain(|u| seen.insert(u.id.clone()));
        users.extend(trashed.into_iter().filter(|u| seen.insert(u.id.clone())));
        let own = match &self.login {
            Login::Password { username, .. } => Some(username_key(username.value.expose())),
            Login::Client { .. } => None,
        };
        let mut state = LiveState::new(users, own);
        let mut roles = roles;
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        state.roles = Some(roles);
        Ok(state)
    }

    fn read_only(&self) -> Option<&'static str> {
        Bedita::read_only(self)
    }

    async fn execute(&self, action: &Action, id: Option<&str>) -> Result<Effect, ProviderError> {
        if action.op == Op::Create {
            if let Some(reason) = self.read_only() {
                return Err(ProviderError::Auth(reason.into()));
            }
            return self.create_user(action).await;
        }
        self.carry_out(action, id).await.map(Effect::from)
    }
}

impl Bedita {
    /// One action, returning a new user's or role's id.
    async fn carry_out(
        &self,
        action: &Action,
        id: Option<&str>,
    ) -> Result<Option<String>, ProviderError> {
        if let Some(reason) = self.read_only() {
            return Err(ProviderError::Auth(reason.into()));
        }
        let need_id = || id.ok_or_else(|| ProviderError::Protocol("the id is not known".into()));
        match action.op {
            Op::CreateRole => self.create_role(action).await.map(Some),
            Op::UpdateRole => {
                let id = match id {
                    Some(id) => id.to_string(),
                    None => self.role_id(&action.user).await?,
                };
                let body = json!({ "data": { "id": id, "type": "roles", "attributes": {
                    "description": action.after("description"),
                } } });
                let path = format!("/roles/{id}");
                let answer = self.write(Method::PATCH, &path, Some(&body)).await?;
                expect(answer, &[StatusCode::OK]).map(|_| None)
            }
            Op::Create => Err(ProviderError::Protocol(
                "a create goes through `create_user`".into(),
            )),
            Op::Restore => self.restore(need_id()?, action).await.map(|_| None),
            Op::Update => self
                .patch_user(need_id()?, attributes_of(action))
                .await
                .map(|_| None),
            // Signing in again also lifts a block, which BEdita applies for administrators.
            Op::Reactivate => self
                .patch_user_with(
                    need_id()?,
                    json!({ "attributes": { "status": "on" }, "meta": { "blocked": false } }),
                )
                .await
                .map(|_| None),
            // The gentlest way to stop a sign-in: the status, not a block.
            Op::Deactivate => self
                .patch_user_with(need_id()?, json!({ "attributes": { "status": "off" } }))
                .await
                .map(|_| None),
            Op::Grant | Op::Revoke => {
                let method = if action.op == Op::Grant {
                    Method::POST
                } else {
                    Method::DELETE
                };
                self.relate(need_id()?, method, &action.roles())
                    .await
                    .map(|_| None)
            }
            Op::Delete => self
                .delete(&format!("/users/{}", need_id()?))
                .await
                .map(|_| None),
            Op::DeleteRole => {
                let id = match id {
                    Some(id) => id.to_string(),
                    None => self.role_id(&action.user).await?,
                };
                self.delete(&format!("/roles/{id}")).await.map(|_| None)
            }
            Op::Promote | Op::Demote => Err(ProviderError::Protocol(
                "BEdita grants and revokes roles; it has no single role to change".into(),
            )),
            Op::EndSessions => Err(ProviderError::Protocol(
                "BEdita has no call that ends a user's sessions".into(),
            )),
            crate::plan::access_ops!() => Err(ProviderError::Protocol(
                "BEdita has no user groups or app permissions".into(),
            )),
        }
    }
}
