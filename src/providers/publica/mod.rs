//! Publica.la integration API v1: the client.
//!
//! Every request carries `X-User-Token`. Users are listed a hundred at a time, active and
//! deactivated ones, the remaining pages concurrently once the last page is known. Updates are
//! full-record `PUT`s built from the live user plus the planned changes, so no field the files do
//! not manage is ever lost. Plans are referred to by name and resolved to ids once per run.

pub mod connect;
pub mod sandbox;
pub mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};

use super::http::{Answer, Http, Kind, Waits};
use super::{Account, Effect, ProviderError};
use crate::model::vocab::{Secret, SecretRef, State};
use crate::model::{LiveState, LiveUser};
use crate::plan::{Action, Op};

const USERS: &str = "/integration-api/v1/dashboard/users";
const PER_PAGE: u64 = 100;

/// A user found by email.
struct Found {
    id: u64,
    deactivated: bool,
    /// Shown only by stores that list it.
    external_id: Option<String>,
}

impl Found {
    /// Whether this is the user the files mean by `external_id`: active, and with that
    /// external id wherever the store shows one.
    fn same_person(&self, external_id: &str) -> bool {
        !self.deactivated && self.external_id.as_deref().is_none_or(|e| e == external_id)
    }
}

/// A Publica.la store.
pub struct Publica {
    http: Http,
    base: String,
    token: SecretRef,
    /// Initial passwords by user key, sent only on create.
    passwords: HashMap<String, Secret>,
    /// Whether the files name plans, so the store's plan list is read.
    needs_plans: bool,
    /// Plan ids by name, read with the users.
    plans: Mutex<HashMap<String, u64>>,
    /// The live users as last read, by id: the base of every full-record update.
    records: Mutex<HashMap<String, wire::ListUser>>,
}

impl Publica {
    pub fn new(
        base: &str,
        token: SecretRef,
        passwords: HashMap<String, Secret>,
        needs_plans: bool,
        http: Http,
    ) -> Self {
        Publica {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            passwords,
            needs_plans,
            plans: Mutex::new(HashMap::new()),
            records: Mutex::new(HashMap::new()),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        kind: Kind,
    ) -> Result<Answer, ProviderError> {
        let url = format!("{}{path}", self.base);
        let mut waits = Waits::default();
        loop {
            let answer = self
                .http
                .send(method.clone(), path, kind, |client, _| {
                    let mut request = client
                        .request(method.clone(), &url)
                        .header("X-User-Token", self.token.value.expose())
                        .header("Accept", "application/json")
                        .query(query);
                    if let Some(body) = body {
                        request = request.json(body);
                    }
                    request
                })
                .await?;
            if self.http.wait_out(&answer, path, &mut waits).await? {
                continue;
            }
            if answer.status == StatusCode::UNAUTHORIZED {
                return Err(ProviderError::Auth(format!(
                    "Publica.la refused the API token in `{}` (HTTP 401)",
                    self.token.var
                )));
            }
            return Ok(answer);
        }
    }

    /// The service's errors: Laravel's validation messages by field, or its `message`.
    fn api_error(answer: &Answer) -> ProviderError {
        let body: wire::Invalid = serde_json::from_slice(&answer.body).unwrap_or_default();
        let mut errors: Vec<String> = body
            .errors
            .iter()
            .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field}: {m}")))
            .collect();
        if errors.is_empty()
            && let Some(message) = body.message
        {
            errors.push(message);
        }
        ProviderError::Api {
            status: answer.status.as_u16(),
            errors,
            codes: body.errors.keys().cloned().collect(),
        }
    }

    fn expect(answer: Answer, expected: StatusCode) -> Result<Answer, ProviderError> {
        if answer.status == expected {
            Ok(answer)
        } else {
            Err(Self::api_error(&answer))
        }
    }

    async fn page(&self, page: u64, deactivated: bool) -> Result<wire::Paginator, ProviderError> {
        let mut query = vec![
            ("page", page.to_string()),
            ("per_page", PER_PAGE.to_string()),
        ];
        if deactivated {
            query.push(("query", "deactivated".to_string()));
        }
        let answer = Self::expect(
            self.call(Method::GET, USERS, &query, None, Kind::Read)
                .await?,
            StatusCode::OK,
        )?;
        let envelope: wire::Envelope<wire::PaginatorData> = serde_json::from_slice(&answer.body)
            .map_err(|e| ProviderError::Protocol(format!("unexpected user list: {e}")))?;
        Ok(envelope.data.paginator)
    }

    /// Every user of one kind (active or deactivated), the pages after the first concurrently.
    /// What was read must add up to the paginator's `total`, or nothing is planned on it.
    async fn all(
        self: &Arc<Self>,
        deactivated: bool,
    ) -> Result<Vec<wire::ListUser>, ProviderError> {
        let first = self.page(1, deactivated).await?;
        let total = first.total;
        let users = self.rest(first, deactivated).await?;
        if let Some(total) = total.filter(|&t| t != users.len() as u64) {
            return Err(ProviderError::Protocol(format!(
                "read {} of {total} {} users from {}; the store returned fewer per page than its count implies, or changed while it was read. Nothing was planned",
                users.len(),
                if deactivated { "deactivated" } else { "active" },
                self.base
            )));
        }
        Ok(users)
    }

    /// The pages after `first`, concurrently when the page count is known.
    async fn rest(
        self: &Arc<Self>,
        first: wire::Paginator,
        deactivated: bool,
    ) -> Result<Vec<wire::ListUser>, ProviderError> {
        let step = first.data.len();
        let mut users = first.data;
        let Some(last) = first.last_page else {
            // No page count: follow the pages one by one, as far as an account can go.
            let ceiling = super::MAX_LIST_ITEMS / PER_PAGE;
            let mut next = first.next_page_url.is_some().then_some(2);
            while let Some(page) = next {
                if page > ceiling {
                    return Err(ProviderError::Protocol(format!(
                        "the user list goes on past page {ceiling} ({} users), more than rollcall reads from one account",
                        super::MAX_LIST_ITEMS
                    )));
                }
                let more = self.page(page, deactivated).await?;
                next = more.next_page_url.is_some().then_some(page + 1);
                users.extend(more.data);
            }
            return Ok(users);
        };
        super::check_list_size(last.saturating_mul(PER_PAGE), "users")?;
        let this = self.clone();
        let rest = super::fetch_pages(2..=last, move |page| {
            let this = this.clone();
            async move { Ok(vec![(page, this.page(page, deactivated).await?.data)]) }
        })
        .await?;
        for (page, data) in rest {
            // Without a total to check against, every page but the last is as long as the first.
            if page < last && data.len() != step {
                return Err(ProviderError::Protocol(format!(
                    "page {page} of the user list from {} holds {} where the first held {step}; the store changed while it was read, or pages short. Nothing was planned",
                    self.base,
                    crate::plan::view::plural(data.len(), "user", "users")
                )));
            }
            users.extend(data);
        }
        Ok(users)
    }

    async fn load_plans(&self) -> Result<Vec<String>, ProviderError> {
        let answer = self
            .call(
                Method::GET,
                "/integration-api/v1/dashboard/plans",
                &[],
                None,
                Kind::Read,
            )
            .await?;
        // The list comes either as `data: [...]` or in the same Laravel paginator as users.
        let unexpected =
            |e: serde_json::Error| ProviderError::Protocol(format!("unexpected plan list: {e}"));
        let envelope: wire::Envelope<wire::PlanList> =
            serde_json::from_slice(&Self::expect(answer, StatusCode::OK)?.body)
                .map_err(unexpected)?;
        let mut items = Vec::new();
        match envelope.data {
            wire::PlanList::Plain(list) => items.extend(list),
            wire::PlanList::Paged { paginator } => {
                let last = paginator.last_page.unwrap_or(1);
                super::check_list_size(last.saturating_mul(PER_PAGE), "plans")?;
                items.extend(paginator.data);
                for page in 2..=last {
                    let answer = self
                        .call(
                            Method::GET,
                            "/integration-api/v1/dashboard/plans",
                            &[("page", page.to_string())],
                            None,
                            Kind::Read,
                        )
                        .await?;
                    let more: wire::Envelope<wire::PlanList> =
                        serde_json::from_slice(&Self::expect(answer, StatusCode::OK)?.body)
                            .map_err(unexpected)?;
                    match more.data {
                        wire::PlanList::Paged { paginator } => items.extend(paginator.data),
                        wire::PlanList::Plain(list) => items.extend(list),
                    }
                }
            }
        }
        let names = items.iter().map(|p| p.name.clone()).collect();
        if let Ok(mut plans) = self.plans.lock() {
            *plans = items.into_iter().map(|p| (p.name, p.id)).collect();
        }
        Ok(names)
    }

    fn plan_id(&self, name: &str) -> Result<u64, ProviderError> {
        self.plans
            .lock()
            .ok()
            .and_then(|plans| plans.get(name).copied())
            .ok_or_else(|| ProviderError::Protocol(format!("the store has no plan named `{name}`")))
    }

    /// The user with this email, active or deactivated, if any.
    async fn find_by_email(&self, email: &str) -> Result<Option<Found>, ProviderError> {
        for deactivated in [false, true] {
            let mut query = vec![
                ("email", email.to_string()),
                ("per_page", PER_PAGE.to_string()),
            ];
            if deactivated {
                query.push(("query", "deactivated".to_string()));
            }
            let answer = self
                .call(Method::GET, USERS, &query, None, Kind::Read)
                .await?;
            if answer.status == StatusCode::NOT_FOUND {
                continue;
            }
            let envelope: wire::Envelope<wire::PaginatorData> =
                serde_json::from_slice(&Self::expect(answer, StatusCode::OK)?.body)
                    .map_err(|e| ProviderError::Protocol(format!("unexpected user list: {e}")))?;
            if let Some(user) = envelope
                .data
                .paginator
                .data
                .iter()
                .find(|u| u.email.trim().eq_ignore_ascii_case(email.trim()))
            {
                return Ok(Some(Found {
                    id: user.id,
                    deactivated,
                    external_id: user.external_id.clone(),
                }));
            }
        }
        Ok(None)
    }

    /// The fields a create or update sends for the attributes in `action`.
    fn fields(&self, action: &Action, body: &mut Map<String, Value>) -> Result<(), ProviderError> {
        for change in &action.changes {
            let Some(after) = &change.after else { continue };
            match change.attribute.as_ref() {
                "email" => {
                    body.insert("email".into(), after.clone().into());
                }
                name @ ("admin" | "plan_admin" | "only_sees_readable") => {
                    body.insert(name.into(), (after == "true").into());
                }
                "sessions_limit" => {
                    body.insert(
                        "sessions_limit".into(),
                        after.parse::<u32>().map(Value::from).unwrap_or(Value::Null),
                    );
                }
                "plan" => {
                    body.insert("assign_new_plan".into(), self.plan_id(after)?.into());
                }
                "plan_valid_to" => {
                    body.insert("new_plan_custom_valid_to".into(), after.clone().into());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Creates a user. After a lost answer the email is looked up first, so a user is never
    /// created twice.
    async fn create(&self, action: &Action) -> Result<String, ProviderError> {
        let mut body = Map::new();
        body.insert("external_id".into(), action.user.clone().into());
        let password = self.passwords.get(&action.user).ok_or_else(|| {
            ProviderError::Protocol("Publica.la needs an initial password to create a user: add `password: ${VAR}` to the user".into())
        })?;
        body.insert("new_password".into(), password.expose().into());
        self.fields(action, &mut body)?;
        let email = action.after("email").unwrap_or_default().to_string();
        let body = Value::Object(body);
        for attempt in 1..=4 {
            let outcome = self
                .call(
                    Method::POST,
                    &format!("{USERS}/"),
                    &[],
                    Some(&body),
                    Kind::Write { idempotent: false },
                )
                .await;
            let unknown = match outcome {
                Ok(answer) if answer.status == StatusCode::OK => {
                    let envelope: wire::Envelope<wire::Created> =
                        serde_json::from_slice(&answer.body).map_err(|e| {
                            ProviderError::Protocol(format!("unexpected create answer: {e}"))
                        })?;
                    return Ok(envelope.data.id.to_string());
                }
                Ok(answer) if answer.status.is_server_error() => {
                    format!("HTTP {}", answer.status.as_u16())
                }
                Ok(answer) => {
                    let mut err = Self::api_error(&answer);
                    // The likeliest cause: the person's email changed.
                    if err.has_code("external_id")
                        && let ProviderError::Api { errors, .. } = &mut err
                    {
                        errors.push("if the reader with this external_id had another email, list it under `former_emails`".into());
                    }
                    // "Taken" proves nothing about whose the email is: only an active user who
                    // is the same person by the file's identity (where the store shows it) is
                    // taken over; a deactivated one is someone else.
                    if err.has_code("email")
                        && let Some(found) = self.find_by_email(&email).await?
                        && found.same_person(&action.user)
                    {
                        return Ok(found.id.to_string());
                    }
                    return Err(err);
                }
                Err(ProviderError::Transport(err)) => err.to_string(),
                Err(err) => return Err(err),
            };
            tracing::info!("creating {email} has an unknown outcome ({unknown}); looking it up");
            if let Some(found) = self.find_by_email(&email).await?
                && found.same_person(&action.user)
            {
                return Ok(found.id.to_string());
            }
            tokio::time::sleep(std::time::Duration::from_millis(200) * attempt).await;
        }
        Err(ProviderError::Protocol(
            "creating the user got no answer 4 times".into(),
        ))
    }

    /// A full-record update: the live user as read, with the planned changes on top.
    async fn update(&self, action: &Action, id: &str) -> Result<(), ProviderError> {
        let mut body = Map::new();
        body.insert("external_id".into(), action.user.clone().into());
        if let Some(live) = self.records.lock().ok().and_then(|r| r.get(id).map(record)) {
            body.extend(live);
        }
        self.fields(action, &mut body)?;
        // A new last day alone may be ignored by a store: it goes with the current plan, given
        // again.
        if action.after("plan_valid_to").is_some()
            && action.after("plan").is_none()
            && let Some(current) = self
                .records
                .lock()
                .ok()
                .and_then(|r| r.get(id).and_then(|u| u.user_plans.last()?.name.clone()))
        {
            body.insert("assign_new_plan".into(), self.plan_id(&current)?.into());
        }
        let answer = self
            .call(
                Method::PUT,
                &format!("{USERS}/{id}"),
                &[],
                Some(&Value::Object(body)),
                Kind::Write { idempotent: true },
            )
            .await?;
        Self::expect(answer, StatusCode::NO_CONTENT).map(|_| ())
    }

    /// Deactivates a reader. Its logout, where the plan has one, ran just before, while the store
    /// still finds the user: some stores answer 404 for every `{id}` path of a deactivated user.
    async fn deactivate(&self, id: &str) -> Result<(), ProviderError> {
        let answer = self
            .call(
                Method::DELETE,
                &format!("{USERS}/{id}"),
                &[],
                None,
                Kind::Write { idempotent: true },
            )
            .await?;
        // Deactivated already (an earlier attempt whose answer was lost): the goal is reached.
        if answer.status != StatusCode::NOT_FOUND {
            Self::expect(answer, StatusCode::OK)?;
        }
        Ok(())
    }

    /// Ends a reader's open sessions now, not at their next expiry. A 404 means the store no
    /// longer finds the user (deactivated already): there is nothing to end.
    async fn force_logout(&self, id: &str) -> Result<(), ProviderError> {
        let path = format!("/integration-api/v1/users/{id}/force-logout");
        let answer = self
            .call(
                Method::POST,
                &path,
                &[],
                None,
                Kind::Write { idempotent: true },
            )
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Self::expect(answer, StatusCode::OK).map(|_| ())
    }

    async fn reactivate(&self, id: &str) -> Result<(), ProviderError> {
        let answer = self
            .call(
                Method::PUT,
                &format!("{USERS}/{id}/re-activate"),
                &[],
                None,
                Kind::Write { idempotent: true },
            )
            .await?;
        Self::expect(answer, StatusCode::OK).map(|_| ())
    }
}

/// The fields of a live user that a full-record update must send back.
fn record(user: &wire::ListUser) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("email".into(), user.email.clone().into());
    fields.insert("admin".into(), user.admin.into());
    fields.insert("plan_admin".into(), user.plan_admin.into());
    fields.insert("only_sees_readable".into(), user.only_sees_readable.into());
    fields.insert(
        "sessions_limit".into(),
        user.sessions_limit.map_or(Value::Null, Value::from),
    );
    fields
}

fn live_user(user: &wire::ListUser, deactivated: bool) -> LiveUser {
    let mut attributes = crate::model::Attributes::default();
    attributes.insert("email", user.email.clone());
    attributes.insert("admin", user.admin.to_string());
    attributes.insert("plan_admin", user.plan_admin.to_string());
    attributes.insert("only_sees_readable", user.only_sees_readable.to_string());
    if let Some(limit) = user.sessions_limit {
        attributes.insert("sessions_limit", limit.to_string());
    }
    // The user's plan is the latest entry: a store may keep the history and add to it, and it
    // lists entries in the order they were given.
    if let Some(plan) = user.user_plans.last() {
        if let Some(name) = &plan.name {
            attributes.insert("plan", name.clone());
        }
        if let Some(valid_to) = &plan.valid_to {
            attributes.insert("plan_valid_to", valid_to.clone());
        }
    }
    LiveUser {
        id: user.id.to_string(),
        // The list rarely carries `external_id`; the planner then matches by email.
        key: user
            .external_id
            .clone()
            .unwrap_or_else(|| email_key(&user.email)),
        spelling: None,
        blocked: false,
        email: Some(user.email.clone()),
        state: if deactivated {
            State::Deactivated
        } else {
            State::Active
        },
        attributes,
        roles: Default::default(),
    }
}

impl Account for Arc<Publica> {
    async fn fetch(&self) -> Result<LiveState, ProviderError> {
        // The plan list is read only when the files name plans: a store whose plan list cannot
        // be read still serves files that use none.
        let plans = async {
            if self.needs_plans {
                self.load_plans().await.map(Some)
            } else {
                Ok(None)
            }
        };
        let (active, deactivated, plans) =
            tokio::try_join!(self.all(false), self.all(true), plans)?;
        // The two lists are read at once; a user in both changed state in between.
        let active_ids: std::collections::HashSet<u64> = active.iter().map(|u| u.id).collect();
        if let Some(both) = deactivated.iter().find(|u| active_ids.contains(&u.id)) {
            return Err(ProviderError::Protocol(format!(
                "user {} is listed as both active and deactivated: the store changed while it was read. Nothing was planned; run again",
                both.id
            )));
        }
        let mut users: Vec<LiveUser> = active.iter().map(|u| live_user(u, false)).collect();
        users.extend(deactivated.iter().map(|u| live_user(u, true)));
        if let Ok(mut records) = self.records.lock() {
            *records = active
                .into_iter()
                .chain(deactivated)
                .map(|u| (u.id.to_string(), u))
                .collect();
        }
        let mut state = LiveState::new(users, None);
        state.plans = plans;
        Ok(state)
    }

    async fn execute(&self, action: &Action, id: Option<&str>) -> Result<Effect, ProviderError> {
        self.carry_out(action, id).await.map(Effect::from)
    }
}

impl Publica {
    /// One action, returning a new user's or role's id.
    async fn carry_out(
        &self,
        action: &Action,
        id: Option<&str>,
    ) -> Result<Option<String>, ProviderError> {
        let need_id =
            || id.ok_or_else(|| ProviderError::Protocol("the user's id is not known".into()));
        match action.op {
            Op::Create => self.create(action).await.map(Some),
            Op::Update => self.update(action, need_id()?).await.map(|_| None),
            Op::Reactivate => self.reactivate(need_id()?).await.map(|_| None),
            Op::EndSessions => self.force_logout(need_id()?).await.map(|_| None),
            Op::Deactivate | Op::Delete => self.deactivate(need_id()?).await.map(|_| None),
            Op::Promote
            | Op::Demote
            | Op::Grant
            | Op::Revoke
            | Op::CreateRole
            | Op::UpdateRole
            | Op::DeleteRole => Err(ProviderError::Protocol("Publica.la has no roles".into())),
            Op::Restore => Err(ProviderError::Protocol("Publica.la has no trash".into())),
            crate::plan::access_ops!() => Err(ProviderError::Protocol(
                "Publica.la has no user groups or app permissions".into(),
            )),
        }
    }
}

/// The `email:` key the client gives a live user whose external id the list did not return.
pub fn email_key(email: &str) -> String {
    format!("email:{}", email.trim().to_lowercase())
}
