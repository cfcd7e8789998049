//! A strict local simulator of the Publica.la integration API v1 (`apis.md` §2).
//!
//! It enforces what the service documents and what Laravel, which it runs on, does by default:
//! the `X-User-Token` header, required fields on create and on the full-record `PUT` (which resets
//! optional fields that are left out), unique emails and external ids, existing plan ids, the
//! paginator shape, deactivated users only under `query=deactivated`, and rate-limit headers. The
//! list, like the real one, does not return `external_id`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::model::vocab::{Date, Email};
use crate::providers::sandbox::{
    Api, Reply, Request, Settings, Standalone, page_cap, persist, read_json, timestamp, write_json,
};

const JSON: &str = "application/json";
/// The largest page the list serves.
pub const MAX_PER_PAGE: usize = 100;

/// The sandbox's store: its API token, plans and users. The seed and state file format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    pub token: String,
    pub plans: Vec<Plan>,
    pub users: Vec<User>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub id: u64,
    pub name: String,
}

/// A stored user. `deactivated_at` is set while the user is deactivated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: u64,
    pub uuid: String,
    pub external_id: String,
    pub email: String,
    pub admin: bool,
    pub plan_admin: bool,
    pub only_sees_readable: bool,
    pub sessions_limit: Option<u32>,
    pub plan_id: Option<u64>,
    pub plan_valid_to: Option<String>,
    /// Plans given before the current one, oldest first, kept under the `plans-append` reading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_plans: Vec<(u64, Option<String>)>,
    pub created_at: u64,
    pub deactivated_at: Option<u64>,
    /// Sessions open; force logout ends them.
    #[serde(default)]
    pub sessions: u32,
}

/// The API token of the built-in seed, used when the target is `sandbox`.
pub const SEED_TOKEN: &str = "sandbox-token";

impl Data {
    /// A small store to try rollcall on.
    pub fn seed() -> Data {
        let user = |id: u64, external_id: &str, email: &str, plan_id: Option<u64>| User {
            id,
            uuid: uuid::Uuid::from_u128(0x9b1c_0000_0000_4000_8000_0000_0000_0000 + u128::from(id))
                .to_string(),
            external_id: external_id.into(),
            email: email.into(),
            admin: false,
            plan_admin: false,
            only_sees_readable: true,
            sessions_limit: Some(2),
            plan_id,
            plan_valid_to: None,
            previous_plans: Vec::new(),
            created_at: 1_704_067_200 + id * 86_400,
            deactivated_at: None,
            sessions: 1,
        };
        let mut admin = user(1, "staff-000", "admin@biblioteca.org", None);
        admin.admin = true;
        admin.only_sees_readable = false;
        let mut lapsed = user(4, "10032", "carmen.vidal@example.org", Some(1));
        lapsed.deactivated_at = Some(1_714_000_000);
        Data {
            token: SEED_TOKEN.into(),
            plans: vec![
                Plan {
                    id: 1,
                    name: "Lector Básico".into(),
                },
                Plan {
                    id: 2,
                    name: "Lector Premium".into(),
                },
            ],
            users: vec![
                admin,
                user(2, "10041", "ana.torres@example.org", Some(1)),
                user(3, "10019", "old.reader@example.org", Some(2)),
                lapsed,
            ],
        }
    }

    /// Reads a seed or state file.
    pub fn read(path: &Path) -> anyhow::Result<Data> {
        read_json(path, "Publica.la sandbox data")
    }

    /// Writes the data atomically.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        write_json(self, path)
    }
}

/// The simulator.
pub struct Sandbox {
    data: Mutex<Data>,
    state_file: Option<PathBuf>,
    /// Serve at most this many users a page (the `page-cap=N` reading).
    page_cap: Option<usize>,
    /// Answer the plan list in the user list's paginator, one plan a page (the
    /// `plans-paginated` reading).
    plans_paginated: bool,
    /// List each user's `external_id` (the `external-ids-shown` reading).
    shows_external_id: bool,
    /// Add a newly assigned plan to the user's history instead of replacing it (the
    /// `plans-append` reading).
    plans_append: bool,
    /// Answer 404 to force logout for a deactivated user (the `gone-after-deactivation`
    /// reading).
    gone_after_deactivation: bool,
    /// Apply `new_plan_custom_valid_to` without `assign_new_plan` (the `valid-to-alone`
    /// reading); by default it is ignored.
    valid_to_alone: bool,
    /// Answer 429 without `Retry-After` (the `no-retry-after` reading).
    no_retry_after: bool,
    /// Let a new user take a deactivated user's email (the `deactivated-email-free` reading);
    /// by default the email stays taken.
    deactivated_email_free: bool,
}

/// The readings of `apis.md` section 6 this simulator can take, by name, with what each does.
pub const VARIANTS: &[(&str, &str)] = &[
    (
        "page-cap=N",
        "at most N users a page, whatever `per_page` asks",
    ),
    (
        "plans-paginated",
        "the plan list comes in the users' paginator, one plan a page",
    ),
    (
        "external-ids-shown",
        "the user list shows each user's `external_id`",
    ),
    (
        "plans-append",
        "a new plan is added to the user's plan history instead of replacing the plan",
    ),
    (
        "gone-after-deactivation",
        "force logout answers 404 for a deactivated user",
    ),
    (
        "valid-to-alone",
        "a new last day is applied without a plan given with it (by default it is ignored)",
    ),
    (
        "no-retry-after",
        "429 answers carry no `Retry-After`, only `X-RateLimit-*`",
    ),
    (
        "deactivated-email-free",
        "a deactivated user's email may be given to a new user (by default it stays taken: 422)",
    ),
];

impl Sandbox {
    pub fn new(data: Data, state_file: Option<PathBuf>) -> Self {
        Sandbox {
            data: Mutex::new(data),
            state_file,
            page_cap: None,
            plans_paginated: false,
            shows_external_id: false,
            plans_append: false,
            gone_after_deactivation: false,
            valid_to_alone: false,
            no_retry_after: false,
            deactivated_email_free: false,
        }
    }

    /// Turns on the variant called `name`; false when there is none by that name.
    pub fn variant(&mut self, name: &str) -> bool {
        match name {
            "plans-paginated" => self.plans_paginated = true,
            "external-ids-shown" => self.shows_external_id = true,
            "plans-append" => self.plans_append = true,
            "gone-after-deactivation" => self.gone_after_deactivation = true,
            "valid-to-alone" => self.valid_to_alone = true,
            "no-retry-after" => self.no_retry_after = true,
            "deactivated-email-free" => self.deactivated_email_free = true,
            _ => {
                self.page_cap = page_cap(name).or(self.page_cap);
                return page_cap(name).is_some();
            }
        }
        true
    }

    /// A copy of the current data.
    pub fn data(&self) -> Data {
        self.data.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

fn success(data: Value) -> Reply {
    Reply::json(
        StatusCode::OK,
        JSON,
        &json!({ "CODE": "success", "data": data }),
    )
}

fn message(status: StatusCode, text: &str) -> Reply {
    Reply::json(status, JSON, &json!({ "message": text }))
}

/// A Laravel validation failure: the first message, and every message by field.
fn invalid(errors: Vec<(&str, String)>) -> Reply {
    let first = errors.first().map(|(_, m)| m.clone()).unwrap_or_default();
    let mut by_field: Map<String, Value> = Map::new();
    for (field, text) in errors {
        if let Some(list) = by_field
            .entry(field.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
        {
            list.push(text.into());
        }
    }
    Reply::json(
        StatusCode::UNPROCESSABLE_ENTITY,
        JSON,
        &json!({ "message": first, "errors": by_field }),
    )
}

/// Booleans as the list shows them (0/1) and as create returns them (true/false) are both
/// accepted on input, as Laravel's `boolean` rule does.
fn boolean(value: Option<&Value>) -> Result<Option<bool>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
        Some(Value::String(s)) if s == "1" || s == "true" => Ok(Some(true)),
        Some(Value::String(s)) if s == "0" || s == "false" => Ok(Some(false)),
        _ => Err(()),
    }
}

fn iso(unix: u64) -> String {
    // `2024-01-01T00:00:00+00:00` as Laravel's `2024-01-01T00:00:00.000000Z`.
    let t = timestamp(unix);
    format!("{}.000000Z", &t[..19])
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Data {
    fn plan_name(&self, id: Option<u64>) -> Option<&str> {
        id.and_then(|id| self.plans.iter().find(|p| p.id == id))
            .map(|p| p.name.as_str())
    }

    /// A user as the list shows it: flags as 0/1, dates as ISO strings, and `external_id` only
    /// under the `external-ids-shown` reading.
    fn list_item(&self, user: &User, shows_external_id: bool) -> Value {
        let flag = |b: bool| u8::from(b);
        let entry = |id: u64, valid_to: &Option<String>| json!({ "plan_id": id, "name": self.plan_name(Some(id)), "valid_to": valid_to });
        let plans: Vec<Value> = user
            .previous_plans
            .iter()
            .map(|(id, valid_to)| entry(*id, valid_to))
            .chain(user.plan_id.map(|id| entry(id, &user.plan_valid_to)))
            .collect();
        let mut item = json!({
            "id": user.id,
            "uuid": user.uuid,
            "email": user.email,
            "admin": flag(user.admin),
            "plan_admin": flag(user.plan_admin),
            "sessions_limit": user.sessions_limit,
            "only_sees_readable": flag(user.only_sees_readable),
            "picture": null,
            "created_at": iso(user.created_at),
            "updated_at": iso(user.created_at),
            "deleted_at": user.deactivated_at.map(iso),
            "user_plans_count": plans.len(),
            "user_plans": plans,
            "can_be_edited": true,
            "sessions": user.sessions,
            "ip_ranges": [],
            "referrers": [],
        });
        if shows_external_id {
            item["external_id"] = user.external_id.clone().into();
        }
        item
    }

    /// A user as create returns it: booleans, and dates as objects.
    fn created_item(&self, user: &User) -> Value {
        let date = |unix: u64| {
            let t = timestamp(unix);
            json!({ "timestamp": unix, "date": format!("{} {}", &t[..10], &t[11..19]), "timezone": "UTC" })
        };
        json!({
            "id": user.id,
            "email": user.email,
            "uuid": user.uuid,
            "picture": null,
            "admin": user.admin,
            "plan_admin": user.plan_admin,
            "only_sees_readable": user.only_sees_readable,
            "sessions_limit": user.sessions_limit,
            "created_at": date(user.created_at),
            "updated_at": date(user.created_at),
            "deleted_at": null,
        })
    }

    fn list(&self, request: &Request, page_cap: Option<usize>, shows_external_id: bool) -> Reply {
        let number = |name: &str, default: usize| -> Result<usize, Reply> {
            match request.query(name) {
                None => Ok(default),
                Some(text) => text
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        invalid(vec![(
                            name,
                            format!("The {} must be at least 1.", name.replace('_', " ")),
                        )])
                    }),
            }
        };
        let page = match number("page", 1) {
            Ok(n) => n,
            Err(reply) => return reply,
        };
        let per_page = match number("per_page", 10) {
            Ok(n) if n <= MAX_PER_PAGE => n,
            Ok(_) => {
                return invalid(vec![(
                    "per_page",
                    format!("The per page may not be greater than {MAX_PER_PAGE}."),
                )]);
            }
            Err(reply) => return reply,
        };
        let per_page = page_cap.map_or(per_page, |cap| per_page.min(cap));
        let query = request.query("query");
        let email = request.query("email").map(str::to_lowercase);
        let users: Vec<&User> = self
            .users
            .iter()
            .filter(|u| match query {
                Some("deactivated") => u.deactivated_at.is_some(),
                Some("admins") => u.deactivated_at.is_none() && u.admin,
                _ => u.deactivated_at.is_none(),
            })
            .filter(|u| email.as_ref().is_none_or(|e| u.email.to_lowercase() == *e))
            .collect();
        let total = users.len();
        let last_page = total.div_ceil(per_page).max(1);
        let start = (page - 1).saturating_mul(per_page);
        let data: Vec<Value> = users
            .iter()
            .skip(start)
            .take(per_page)
            .map(|u| self.list_item(u, shows_external_id))
            .collect();
        let path = "/integration-api/v1/dashboard/users";
        let url = |p: usize| format!("{path}?page={p}");
        success(json!({
            "paginator": {
                "current_page": page,
                "data": data,
                "first_page_url": url(1),
                "from": if data.is_empty() { Value::Null } else { (start + 1).into() },
                "last_page": last_page,
                "last_page_url": url(last_page),
                "next_page_url": if page < last_page { url(page + 1).into() } else { Value::Null },
                "path": path,
                "per_page": per_page,
                "prev_page_url": if page > 1 { url(page - 1).into() } else { Value::Null },
                "to": if data.is_empty() { Value::Null } else { (start + data.len()).into() },
                "total": total,
            }
        }))
    }

    /// Checks a create or full update body; `existing` is the user a `PUT` replaces.
    fn validate(
        &self,
        body: &Map<String, Value>,
        existing: Option<u64>,
        deactivated_email_free: bool,
    ) -> Result<User, Reply> {
        let mut errors: Vec<(&str, String)> = Vec::new();
        let text = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let email = text("email");
        match email {
            None => errors.push(("email", "The email field is required.".into())),
            Some(e) if Email::parse(e).is_err() => {
                errors.push(("email", "The email must be a valid email address.".into()))
            }
            Some(e)
                if self
                    .users
                    .iter()
                    .filter(|u| !(deactivated_email_free && u.deactivated_at.is_some()))
                    .any(|u| u.email.eq_ignore_ascii_case(e) && Some(u.id) != existing) =>
            {
                errors.push(("email", "The email has already been taken.".into()))
            }
            _ => {}
        }
        let external_id = match body.get("external_id") {
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => text("external_id").map(str::to_string),
        };
        match &external_id {
            None => errors.push(("external_id", "The external id field is required.".into())),
            Some(id) if id.chars().count() > 64 => errors.push((
                "external_id",
                "The external id may not be greater than 64 characters.".into(),
            )),
            Some(id)
                if self
                    .users
                    .iter()
                    .any(|u| &u.external_id == id && Some(u.id) != existing) =>
            {
                errors.push((
                    "external_id",
                    "The external id has already been taken.".into(),
                ))
            }
            _ => {}
        }
        match body.get("new_password") {
            None | Some(Value::Null) if existing.is_some() => {}
            Some(Value::String(p)) if (8..=255).contains(&p.chars().count()) => {}
            None | Some(Value::Null) => {
                errors.push(("new_password", "The new password field is required.".into()))
            }
            _ => errors.push((
                "new_password",
                "The new password must be between 8 and 255 characters.".into(),
            )),
        }
        let mut flags = [false; 3];
        for (i, name) in ["admin", "plan_admin", "only_sees_readable"]
            .into_iter()
            .enumerate()
        {
            match boolean(body.get(name)) {
                Ok(Some(b)) => flags[i] = b,
                Ok(None) if existing.is_some() && name == "only_sees_readable" => {
                    errors.push((name, "The only sees readable field is required.".into()))
                }
                Ok(None) => {}
                Err(()) => errors.push((
                    name,
                    format!(
                        "The {} field must be true or false.",
                        name.replace('_', " ")
                    ),
                )),
            }
        }
        let sessions_limit = match body.get("sessions_limit") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64().filter(|n| (1..=999_999).contains(n)) {
                Some(n) => Some(n as u32),
                None => {
                    errors.push((
                        "sessions_limit",
                        "The sessions limit must be between 1 and 999999.".into(),
                    ));
                    None
                }
            },
        };
        let plan_id = match body.get("assign_new_plan") {
            None | Some(Value::Null) => None,
            Some(v) => match v
                .as_u64()
                .filter(|id| self.plans.iter().any(|p| p.id == *id))
            {
                Some(id) => Some(id),
                None => {
                    errors.push((
                        "assign_new_plan",
                        "The selected assign new plan is invalid.".into(),
                    ));
                    None
                }
            },
        };
        let plan_valid_to = match body.get("new_plan_custom_valid_to") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) if Date::parse(s).is_some() => Some(s.clone()),
            Some(_) => {
                errors.push((
                    "new_plan_custom_valid_to",
                    "The new plan custom valid to does not match the format Y-m-d.".into(),
                ));
                None
            }
        };
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
        Ok(User {
            id: existing.unwrap_or(0),
            uuid: String::new(),
            external_id: external_id.unwrap_or_default(),
            email: email.unwrap_or_default().to_string(),
            admin: flags[0],
            plan_admin: flags[1],
            only_sees_readable: flags[2],
            sessions_limit,
            plan_id,
            plan_valid_to,
            previous_plans: Vec::new(),
            created_at: 0,
            deactivated_at: None,
            sessions: 0,
        })
    }

    fn find(&self, id: &str) -> Result<usize, Reply> {
        id.parse::<u64>()
            .ok()
            .and_then(|id| self.users.iter().position(|u| u.id == id))
            .ok_or_else(|| message(StatusCode::NOT_FOUND, "Object not found"))
    }
}

fn body(request: &Request) -> Result<Map<String, Value>, Reply> {
    let content_type = request.header("content-type").unwrap_or("");
    if !content_type.starts_with(JSON) {
        return Err(message(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the body as application/json.",
        ));
    }
    match serde_json::from_slice(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(message(
            StatusCode::BAD_REQUEST,
            "The body is not a JSON object.",
        )),
    }
}

impl Api for Sandbox {
    fn fault(&self, status: StatusCode, title: &str) -> Reply {
        // Laravel's own wording for its throttle.
        if status == StatusCode::TOO_MANY_REQUESTS {
            return message(status, "Too Many Attempts.");
        }
        message(status, title)
    }

    fn rate_limit_headers(&self) -> bool {
        true
    }

    fn retry_after(&self) -> bool {
        !self.no_retry_after
    }

    fn handle(&self, request: &Request) -> Reply {
        let Ok(mut data) = self.data.lock() else {
            return message(StatusCode::INTERNAL_SERVER_ERROR, "Server Error");
        };
        if request.header("x-user-token") != Some(data.token.as_str()) {
            return message(StatusCode::UNAUTHORIZED, "Unauthenticated.");
        }
        let path = request.path.trim_end_matches('/');
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let reply = match (&request.method, segments.as_slice()) {
            (&Method::GET, ["integration-api", "v1", "dashboard", "plans"]) => {
                let plans: Vec<Value> = data
                    .plans
                    .iter()
                    .map(|p| json!({ "id": p.id, "name": p.name }))
                    .collect();
                if self.plans_paginated {
                    let total = plans.len();
                    let last = total.max(1);
                    let page = request
                        .query("page")
                        .and_then(|p| p.parse::<usize>().ok())
                        .unwrap_or(1)
                        .clamp(1, last);
                    let data: Vec<Value> = plans.into_iter().skip(page - 1).take(1).collect();
                    success(json!({ "paginator": {
                        "current_page": page,
                        "last_page": last,
                        "per_page": 1,
                        "total": total,
                        "data": data,
                    } }))
                } else {
                    success(plans.into())
                }
            }
            (&Method::GET, ["integration-api", "v1", "dashboard", "users"]) => {
                data.list(request, self.page_cap, self.shows_external_id)
            }
            (&Method::POST, ["integration-api", "v1", "dashboard", "users"]) => {
                match body(request)
                    .and_then(|b| data.validate(&b, None, self.deactivated_email_free))
                {
                    Ok(mut user) => {
                        user.id = data.users.iter().map(|u| u.id).max().unwrap_or(0) + 1;
                        user.uuid = uuid::Uuid::new_v4().to_string();
                        user.created_at = now();
                        let item = data.created_item(&user);
                        data.users.push(user);
                        success(item).committed()
                    }
                    Err(reply) => reply,
                }
            }
            (&Method::PUT, ["integration-api", "v1", "dashboard", "users", id]) => {
                match data.find(id).and_then(|i| {
                    let existing = data.users[i].id;
                    body(request)
                        .and_then(|b| {
                            data.validate(&b, Some(existing), self.deactivated_email_free)
                        })
                        .map(|u| (i, u))
                }) {
                    Ok((i, new)) => {
                        // A full record: what the body leaves out is reset, as the service does.
                        let user = &mut data.users[i];
                        user.external_id = new.external_id;
                        user.email = new.email;
                        user.admin = new.admin;
                        user.plan_admin = new.plan_admin;
                        user.only_sees_readable = new.only_sees_readable;
                        user.sessions_limit = new.sessions_limit;
                        if new.plan_id.is_some() {
                            if self.plans_append
                                && let Some(old) = user.plan_id
                            {
                                user.previous_plans.push((old, user.plan_valid_to.clone()));
                            }
                            user.plan_id = new.plan_id;
                            user.plan_valid_to = new.plan_valid_to;
                        } else if self.valid_to_alone && new.plan_valid_to.is_some() {
                            user.plan_valid_to = new.plan_valid_to;
                        }
                        Reply::empty(StatusCode::NO_CONTENT).committed()
                    }
                    Err(reply) => reply,
                }
            }
            (&Method::DELETE, ["integration-api", "v1", "dashboard", "users", id]) => {
                match data.find(id) {
                    Ok(i) if data.users[i].deactivated_at.is_none() => {
                        data.users[i].deactivated_at = Some(now());
                        success(json!([])).committed()
                    }
                    Ok(_) => message(StatusCode::NOT_FOUND, "Object not found"),
                    Err(reply) => reply,
                }
            }
            (
                &Method::PUT,
                [
                    "integration-api",
                    "v1",
                    "dashboard",
                    "users",
                    id,
                    "re-activate",
                ],
            ) => match data.find(id) {
                Ok(i) => {
                    data.users[i].deactivated_at = None;
                    success(1.into()).committed()
                }
                Err(reply) => reply,
            },
            (&Method::POST, ["integration-api", "v1", "users", id, "force-logout"]) => {
                // The numeric id or the external id.
                let found = data
                    .find(id)
                    .ok()
                    .or_else(|| data.users.iter().position(|u| u.external_id == *id));
                match found {
                    // The `gone-after-deactivation` reading: a deactivated user is not found.
                    Some(i)
                        if self.gone_after_deactivation
                            && data.users[i].deactivated_at.is_some() =>
                    {
                        message(StatusCode::NOT_FOUND, "Object not found")
                    }
                    Some(i) => {
                        data.users[i].sessions = 0;
                        success(json!([])).committed()
                    }
                    None => message(StatusCode::NOT_FOUND, "Object not found"),
                }
            }
            _ => message(StatusCode::NOT_FOUND, "Not Found"),
        };
        persist(&reply, self.state_file.as_deref(), &*data);
        reply
    }
}

/// The users by external id, for tests and seeds.
pub fn by_external_id(data: &Data) -> HashMap<&str, &User> {
    data.users
        .iter()
        .map(|u| (u.external_id.as_str(), u))
        .collect()
}
/// The simulator for `rollcall sandbox`, with the banner's credentials.
pub fn standalone(settings: &Settings) -> anyhow::Result<Standalone> {
    let data = settings.starting_data(Data::read, Data::seed, Data::write)?;
    let credentials = vec![format!("api_token={}", data.token)];
    let mut sandbox = Sandbox::new(data, settings.state.clone());
    settings.apply_variants("Publica.la", VARIANTS, |name| sandbox.variant(name))?;
    Ok(Standalone {
        api: std::sync::Arc::new(sandbox),
        name: "Publica.la",
        credentials,
    })
}
