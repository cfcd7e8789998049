//! A strict local simulator of the Piwik PRO Users API v2 (`apis.md` §1.9).
//!
//! It enforces what the real service enforces: bearer tokens that expire, the JSON:API media type
//! and envelope, resource types and ids, unique emails, the supported languages, the 1000-row page
//! limit, and the rules protecting the last owner and the caller's own account. Its users can be
//! kept in a JSON file between runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The JSON:API media type every request and response body uses.
pub const MEDIA_TYPE: &str = "application/vnd.api+json";
/// The resource type of a user.
const USER_TYPE: &str = "ppms/user";
/// The largest page the list endpoint serves.
const MAX_PAGE: usize = 1000;
use crate::model::capabilities::{ISO_3166_ALPHA2, PIWIK_LANGUAGES};
use crate::model::vocab::LanguageTag;
use crate::providers::sandbox::{
    Api, Reply, Request, Settings, Standalone, page_cap, persist, read_json, timestamp, write_json,
};

mod access;
mod checks;

pub use access::{
    App, Entity, Grant, Group, GroupPermissionsShape, MetaSite, Permission, Principal, Readings,
};
use checks::*;

/// The sandbox's users and API clients: the seed and state file format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    #[serde(default = "default_organization")]
    pub organization: String,
    pub clients: Vec<Client>,
    pub users: Vec<User>,
    /// Apps (sites), by the Apps API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<App>,
    /// Meta sites, by the Meta Sites API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_sites: Vec<MetaSite>,
    /// User groups and their members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    /// Every app and meta-site permission above `no-access`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<Grant>,
}

fn default_organization() -> String {
    "sandbox".into()
}

/// API credentials and the user they act as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
    /// The email of the user the credentials belong to.
    pub user: String,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: String,
    pub language: String,
    pub added_at: String,
}

/// The client id and secret of the built-in seed, used when the target is `sandbox`.
pub const SEED_CLIENT: (&str, &str) = ("sandbox-client", "sandbox-secret");

impl Data {
    /// A small account to try rollcall on: an API user and a few people, three apps (two named
    /// alike), a meta site, and two groups with some permissions.
    pub fn seed() -> Data {
        let id = |n: u128| {
            uuid::Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0000_0000 + n).to_string()
        };
        let day = |n: u64| timestamp(1_704_067_200 + n * 86_400);
        let user = |n: u128, email: &str, role: &str, language: &str| User {
            id: id(n),
            email: email.into(),
            role: role.into(),
            language: language.into(),
            added_at: day(n as u64),
        };
        let app = |n: u128, name: &str| App {
            id: id(0x100 + n),
            name: name.into(),
            added_at: day(n as u64),
            updated_at: day(n as u64),
        };
        let group = |n: u128, name: &str, members: &[u128]| Group {
            id: id(0x300 + n),
            name: name.into(),
            external_id: None,
            provisioned: false,
            members: members.iter().map(|&m| id(m)).collect(),
            created_at: day(n as u64),
            updated_at: day(n as u64),
        };
        let grant = |entity, on: u128, principal, to: u128, permission| Grant {
            entity,
            on: id(on),
            principal,
            to: id(to),
            permission,
        };
        Data {
            apps: vec![
                app(1, "Acme shop"),
                app(2, "Acme blog"),
                app(3, "Acme blog"),
            ],
            meta_sites: vec![MetaSite {
                id: id(0x201),
                name: "All Acme sites".into(),
                apps: vec![id(0x101), id(0x102)],
                created_at: day(4),
                updated_at: day(4),
            }],
            groups: vec![group(1, "Marketing", &[2, 3]), group(2, "Analysts", &[4])],
            grants: vec![
                grant(
                    Entity::App,
                    0x101,
                    Principal::UserGroup,
                    0x301,
                    Permission::Edit,
                ),
                grant(Entity::App, 0x101, Principal::User, 2, Permission::Manage),
                grant(Entity::App, 0x102, Principal::User, 5, Permission::View),
                grant(
                    Entity::MetaSite,
                    0x201,
                    Principal::UserGroup,
                    0x302,
                    Permission::View,
                ),
            ],
            organization: default_organization(),
            clients: vec![Client {
                client_id: SEED_CLIENT.0.into(),
                client_secret: SEED_CLIENT.1.into(),
                user: "api@acme.org".into(),
            }],
            users: vec![
                user(1, "api@acme.org", "OWNER", "en-US"),
                user(2, "ada@acme.org", "USER", "en-US"),
                user(3, "bob@acme.org", "USER", "en-US"),
                user(4, "margaret@acme.org", "USER", "en-US"),
                user(5, "carol@acme.org", "USER", "fr-FR"),
            ],
        }
    }

    /// Reads a seed or state file.
    pub fn read(path: &Path) -> anyhow::Result<Data> {
        read_json(path, "Piwik PRO sandbox data")
    }

    /// Writes the data atomically.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        write_json(self, path)
    }
}

/// Options of the simulator itself (faults are the server's business).
#[derive(Debug, Clone)]
pub struct Options {
    /// How long an access token lasts.
    pub token_lifetime: Duration,
    /// Where state is saved after every write.
    pub state_file: Option<PathBuf>,
    /// Serve at most this many rows a page in every list, whatever `limit` asks (the
    /// `page-cap=N` reading).
    pub page_cap: Option<usize>,
    /// Refuse a language without a region, as `users.error.unsupported-language-tag` (the
    /// `bare-language-refused` reading).
    pub bare_language_refused: bool,
    /// How the access APIs read the points `apis.md` §7 leaves open.
    pub access: Readings,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            token_lifetime: Duration::from_secs(1800),
            state_file: None,
            page_cap: None,
            bare_language_refused: false,
            access: Readings::default(),
        }
    }
}

/// The readings of `apis.md` section 6 this simulator can take, by name, with what each does.
pub const VARIANTS: &[(&str, &str)] = &[
    (
        "page-cap=N",
        "at most N rows a page in every list, whatever `limit` asks",
    ),
    (
        "bare-language-refused",
        "a language without a region is refused as a malformed tag",
    ),
    (
        "no-access-listed",
        "permission lists show users and groups with no grant, as `no-access`",
    ),
    (
        "group-permissions-null",
        "a user no group grants anything has `group_permissions: null`",
    ),
    (
        "group-permissions-empty-list",
        "a user no group grants anything has `group_permissions: []`",
    ),
    (
        "owner-set-ignored",
        "a permission set for an owner answers 204 and changes nothing",
    ),
    (
        "group-json-api-accepted",
        "group creation takes `application/vnd.api+json` as well as `application/json`",
    ),
    (
        "duplicate-group-conflict",
        "a group name already taken answers 409, not 400",
    ),
    (
        "members-strict",
        "adding a member twice or removing a non-member is refused",
    ),
];

impl Options {
    /// Turns on the variant called `name`; false when there is none by that name.
    pub fn variant(&mut self, name: &str) -> bool {
        match name {
            "bare-language-refused" => self.bare_language_refused = true,
            "no-access-listed" => self.access.no_access_listed = true,
            "group-permissions-null" => {
                self.access.group_permissions = GroupPermissionsShape::Null;
            }
            "group-permissions-empty-list" => {
                self.access.group_permissions = GroupPermissionsShape::EmptyList;
            }
            "owner-set-ignored" => self.access.owner_set_ignored = true,
            "group-json-api-accepted" => self.access.group_json_api_accepted = true,
            "duplicate-group-conflict" => self.access.duplicate_group_conflict = true,
            "members-strict" => self.access.members_strict = true,
            _ => match page_cap(name) {
                Some(n) => self.page_cap = Some(n),
                None => return false,
            },
        }
        true
    }
}

/// The simulator.
pub struct Sandbox {
    inner: Mutex<Inner>,
    options: Options,
}

struct Inner {
    data: Data,
    /// Access token to (client user email, expiry).
    tokens: HashMap<String, (String, Instant)>,
    /// Seconds added to every new user's `addedAt`, so that order is stable.
    clock: u64,
    /// See [`Options::page_cap`].
    page_cap: Option<usize>,
    /// See [`Options::bare_language_refused`].
    bare_language_refused: bool,
}

impl Sandbox {
    pub fn new(data: Data, options: Options) -> Self {
        Sandbox {
            inner: Mutex::new(Inner {
                data,
                tokens: HashMap::new(),
                clock: 0,
                page_cap: options.page_cap,
                bare_language_refused: options.bare_language_refused,
            }),
            options,
        }
    }

    /// A copy of the current data.
    pub fn data(&self) -> Data {
        self.inner
            .lock()
            .map(|i| i.data.clone())
            .unwrap_or_default()
    }

    /// Adds a user as someone else would, through the service's own screens.
    pub fn add_user(&self, user: User) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.data.users.push(user);
        }
    }
}

impl Api for Sandbox {
    fn fault(&self, status: StatusCode, title: &str) -> Reply {
        error(status, "error.default", title, None, None)
    }

    fn handle(&self, request: &Request) -> Reply {
        let Ok(mut inner) = self.inner.lock() else {
            return self.fault(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        };
        if request.path == "/auth/token" {
            return if request.method == Method::POST {
                inner.token(request, self.options.token_lifetime)
            } else {
                let mut reply = Reply::empty(StatusCode::METHOD_NOT_ALLOWED);
                reply.headers.push(("allow", "POST".into()));
                reply
            };
        }
        if access::serves(&request.path) {
            let Some(caller) = inner.authenticate(request) else {
                return unauthorized();
            };
            let reply = access::route(&mut inner, request, &caller, self.options.access);
            persist(&reply, self.options.state_file.as_deref(), &inner.data);
            return reply;
        }
        let Some(rest) = request.path.strip_prefix("/api/users/v2") else {
            return error(
                StatusCode::NOT_FOUND,
                "error.default",
                "Not Found",
                None,
                None,
            );
        };
        let caller = match inner.authenticate(request) {
            Some(caller) => caller,
            None => return unauthorized(),
        };
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let reply = match (&request.method, segments.as_slice()) {
            (&Method::GET, []) => inner.list(request),
            (&Method::POST, []) => inner.add(request, true),
            (&Method::POST, ["invite"]) => inner.add(request, false),
            (&Method::GET, ["me"] | ["me", "details"]) => {
                inner.get(&inner.id_of(&caller).unwrap_or_default())
            }
            (&Method::PATCH, ["me"]) => {
                let own = inner.id_of(&caller).unwrap_or_default();
                inner.edit(request, &own, &caller, false)
            }
            (&Method::PATCH, ["me", "change-password"]) => inner.change_password(request, &caller),
            (_, ["me" | "invite"] | ["me", "details" | "change-password"]) => {
                let mut reply = Reply::empty(StatusCode::METHOD_NOT_ALLOWED);
                reply.headers.push(("allow", allowed(&segments).into()));
                reply
            }
            (&Method::GET, [id]) => inner.get(id),
            (&Method::PATCH, [id]) => inner.edit(request, id, &caller, false),
            (&Method::PATCH, [id, "change-role"]) => inner.edit(request, id, &caller, true),
            (&Method::DELETE, [id]) => inner.delete(id, &caller),
            (_, [] | [_] | [_, "change-role"]) => {
                let mut reply = Reply::empty(StatusCode::METHOD_NOT_ALLOWED);
                reply.headers.push(("allow", allowed(&segments).into()));
                reply
            }
            _ => error(
                StatusCode::NOT_FOUND,
                "error.default",
                "Not Found",
                None,
                None,
            ),
        };
        persist(&reply, self.options.state_file.as_deref(), &inner.data);
        reply
    }
}

impl Inner {
    fn token(&mut self, request: &Request, lifetime: Duration) -> Reply {
        let content_type = request.header("content-type").unwrap_or("");
        let fields: HashMap<String, String> =
            if content_type.starts_with("application/x-www-form-urlencoded") {
                serde_urlencoded::from_bytes(&request.body).unwrap_or_default()
            } else if content_type.starts_with("application/json") {
                serde_json::from_slice(&request.body).unwrap_or_default()
            } else {
                HashMap::new()
            };
        if fields.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return Reply::json(
                StatusCode::BAD_REQUEST,
                "application/json",
                &json!({ "error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials" }),
            );
        }
        let client = self.data.clients.iter().find(|c| {
            Some(&c.client_id) == fields.get("client_id")
                && Some(&c.client_secret) == fields.get("client_secret")
        });
        let Some(client) = client else {
            return Reply::json(
                StatusCode::UNAUTHORIZED,
                "application/json",
                &json!({ "error": "invalid_client", "error_description": "Client authentication failed" }),
            );
        };
        let token = uuid::Uuid::new_v4().simple().to_string();
        let user = client.user.clone();
        let now = Instant::now();
        self.tokens.retain(|_, (_, expiry)| *expiry > now);
        self.tokens.insert(token.clone(), (user, now + lifetime));
        Reply::json(
            StatusCode::OK,
            "application/json",
            &json!({
                "token_type": "Bearer",
                "expires_in": lifetime.as_secs(),
                "access_token": token,
            }),
        )
    }

    /// The caller's email, when the bearer token is valid.
    fn authenticate(&self, request: &Request) -> Option<String> {
        let token = request.header("authorization")?.strip_prefix("Bearer ")?;
        let (user, expiry) = self.tokens.get(token)?;
        (*expiry > Instant::now()).then(|| user.clone())
    }

    fn id_of(&self, email: &str) -> Option<String> {
        self.data
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .map(|u| u.id.clone())
    }

    fn list(&self, request: &Request) -> Reply {
        let number = |name: &str, default: usize| -> Result<usize, Reply> {
            match request.query(name) {
                None => Ok(default),
                Some(text) => text.parse::<usize>().map_err(|_| {
                    bad_request(
                        "error.default",
                        &format!("Invalid query parameter '{name}' - value should be a positive integer - got '{text}'"),
                    )
                }),
            }
        };
        let offset = match number("offset", 0) {
            Ok(n) => n,
            Err(reply) => return reply,
        };
        let limit = match number("limit", 10) {
            Ok(n) => n,
            Err(reply) => return reply,
        };
        if limit > MAX_PAGE {
            return bad_request(
                "error.default",
                &format!(
                    "Limit parameter exceeded maximum \"{MAX_PAGE}\" value, \"{limit}\" given"
                ),
            );
        }
        // The `page-cap` reading: fewer a page than asked, silently.
        let limit = self.page_cap.map_or(limit, |cap| limit.min(cap));
        let sort = request.query("sort").unwrap_or("-addedAt");
        let (descending, field) = sort.strip_prefix('-').map_or((false, sort), |f| (true, f));
        if !matches!(field, "email" | "addedAt" | "role") {
            return bad_request(
                "error.default",
                &format!(
                    "Invalid query parameter 'sort' - available options are [email,addedAt,role] - got '{sort}'"
                ),
            );
        }
        let search = request
            .query("search")
            .or_else(|| request.query("search_query"))
            .map(str::to_lowercase);
        let mut users: Vec<&User> = self
            .data
            .users
            .iter()
            .filter(|u| {
                search
                    .as_ref()
                    .is_none_or(|s| u.email.to_lowercase().contains(s) || u.id.contains(s.as_str()))
            })
            .collect();
        // Stored in the order added; other orders are sorted on demand, ties by id.
        match field {
            "email" => users.sort_by(|a, b| {
                (a.email.to_lowercase(), &a.id).cmp(&(b.email.to_lowercase(), &b.id))
            }),
            "role" => users.sort_by(|a, b| (&a.role, &a.id).cmp(&(&b.role, &b.id))),
            _ => {}
        }
        if descending {
            users.reverse();
        }
        let total = users.len() as u64;
        let data: Vec<Value> = users
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|u| resource(u, &self.data.organization))
            .collect();
        Reply::json(
            StatusCode::OK,
            MEDIA_TYPE,
            &json!({ "meta": { "total": total }, "data": data }),
        )
    }

    fn find(&self, id: &str) -> Result<usize, Reply> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(bad_request(
                "error.default",
                &format!("\"{id}\" is not a valid UUID."),
            ));
        }
        self.data
            .users
            .iter()
            .position(|u| u.id == id)
            .ok_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    "users.error.user-does-not-exist",
                    &format!("User with id: {id} does not exist"),
                    None,
                    None,
                )
            })
    }

    fn get(&self, id: &str) -> Reply {
        match self.find(id) {
            Ok(i) => Reply::json(
                StatusCode::OK,
                MEDIA_TYPE,
                &json!({ "data": resource(&self.data.users[i], &self.data.organization) }),
            ),
            Err(reply) => reply,
        }
    }

    /// Invites a user, or with `with_password` creates one the deprecated way (password and role).
    fn add(&mut self, request: &Request, with_password: bool) -> Reply {
        let data = match json_api_body(request) {
            Ok(data) => data,
            Err(reply) => return reply,
        };
        let role = if with_password {
            if let Err(reply) = check_password(attribute(&data, "password"), "/password") {
                return reply;
            }
            match attribute(&data, "role") {
                None => "USER".to_string(),
                Some(Value::String(r)) if r == "OWNER" || r == "USER" => r.clone(),
                Some(other) => return invalid_role(other),
            }
        } else {
            "USER".to_string()
        };
        let email = match attribute(&data, "email") {
            Some(Value::String(email)) if crate::model::vocab::Email::parse(email).is_ok() => {
                email.trim().to_string()
            }
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "error.default",
                    "Invalid form",
                    Some("This value is not a valid email address."),
                    Some("/email"),
                );
            }
        };
        let language = match attribute(&data, "language") {
            None => "en-US".to_string(),
            Some(Value::String(language)) => {
                if let Err(reply) = check_language(language, self.bare_language_refused) {
                    return reply;
                }
                language.clone()
            }
            Some(_) => return malformed_language(),
        };
        if self.id_of(&email).is_some() {
            return error(
                StatusCode::BAD_REQUEST,
                "users.error.user-already-exists",
                "Invalid form",
                Some(&format!("User with email: '{email}' already exists.")),
                Some("/email"),
            );
        }
        self.clock += 1;
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            email,
            role,
            language,
            added_at: timestamp(now_unix().max(self.clock)),
        };
        let body = json!({ "data": resource(&user, &self.data.organization) });
        self.data.users.push(user);
        Reply::json(StatusCode::CREATED, MEDIA_TYPE, &body).committed()
    }

    fn edit(&mut self, request: &Request, id: &str, caller: &str, role_only: bool) -> Reply {
        let index = match self.find(id) {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        let data = match json_api_body(request) {
            Ok(data) => data,
            Err(reply) => return reply,
        };
        match data.get("id") {
            None => {
                return bad_request(
                    "error.json-api-resource-id-not-provided",
                    "Resource id not provided",
                );
            }
            Some(Value::String(body_id)) if body_id == id => {}
            Some(other) => {
                let body_id = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_string);
                return error(
                    StatusCode::CONFLICT,
                    "error.default",
                    "Conflict",
                    Some(&format!(
                        "The resource object's id ({body_id}) does not match url's lookup id ({id})"
                    )),
                    Some("/data"),
                );
            }
        }
        let role = attribute(&data, "role");
        let language = if role_only {
            None
        } else {
            attribute(&data, "language")
        };
        if role_only && role.is_none() {
            return error(
                StatusCode::BAD_REQUEST,
                "error.default",
                "Invalid form",
                Some("This value should not be blank."),
                Some("/role"),
            );
        }
        let role = match role {
            None => None,
            Some(Value::String(r)) if r == "OWNER" || r == "USER" => Some(r.clone()),
            Some(other) => return invalid_role(other),
        };
        let language = match language {
            None => None,
            Some(Value::String(l)) => match check_language(l, self.bare_language_refused) {
                Ok(()) => Some(l.clone()),
                Err(reply) => return reply,
            },
            Some(_) => return malformed_language(),
        };
        let user = &self.data.users[index];
        if let Some(role) = &role
            && *role != user.role
            && user.email.eq_ignore_ascii_case(caller)
        {
            return error(
                StatusCode::BAD_REQUEST,
                "users.error.cannot-change-own-role",
                "Invalid form",
                Some("You cannot change your own role."),
                Some("/role"),
            );
        }
        let user = &mut self.data.users[index];
        if let Some(role) = role {
            user.role = role;
        }
        if let Some(language) = language {
            user.language = language;
        }
        Reply::empty(StatusCode::NO_CONTENT).committed()
    }

    fn change_password(&mut self, request: &Request, caller: &str) -> Reply {
        let data = match json_api_body(request) {
            Ok(data) => data,
            Err(reply) => return reply,
        };
        if let Some(Value::String(id)) = data.get("id")
            && Some(id) != self.id_of(caller).as_ref()
        {
            return error(
                StatusCode::CONFLICT,
                "error.default",
                "Conflict",
                Some("The resource object's id does not match url's lookup id"),
                Some("/data"),
            );
        }
        match attribute(&data, "currentPassword") {
            Some(Value::String(current)) if !current.is_empty() => {}
            Some(Value::String(_)) | None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "error.default",
                    "Invalid form",
                    Some("Invalid current password."),
                    Some("/currentPassword"),
                );
            }
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "error.default",
                    "Invalid form",
                    Some("This value should be of type string."),
                    Some("/currentPassword"),
                );
            }
        }
        match check_password(attribute(&data, "newPassword"), "/newPassword") {
            Ok(()) => Reply::empty(StatusCode::NO_CONTENT).committed(),
            Err(reply) => reply,
        }
    }

    fn delete(&mut self, id: &str, caller: &str) -> Reply {
        let index = match self.find(id) {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        let user = &self.data.users[index];
        if user.email.eq_ignore_ascii_case(caller) {
            return bad_request(
                "users.error.cannot-delete-own-account",
                "You cannot delete your own account.",
            );
        }
        let owners = self.data.users.iter().filter(|u| u.role == "OWNER").count();
        if user.role == "OWNER" && owners <= 1 {
            return bad_request(
                "users.error.cannot-delete-last-owner",
                "You cannot delete the last owner.",
            );
        }
        let gone = self.data.users.remove(index).id;
        // Their permissions and memberships go with them.
        self.data
            .grants
            .retain(|g| !(g.principal == Principal::User && g.to == gone));
        for group in &mut self.data.groups {
            group.members.retain(|m| *m != gone);
        }
        Reply::empty(StatusCode::NO_CONTENT).committed()
    }
}

/// The simulator for `rollcall sandbox`, with the banner's credentials.
pub fn standalone(settings: &Settings) -> anyhow::Result<Standalone> {
    let data = settings.starting_data(Data::read, Data::seed, Data::write)?;
    let credentials = data
        .clients
        .iter()
        .map(|c| {
            format!(
                "client_id={} client_secret={} acts as {}",
                c.client_id, c.client_secret, c.user
            )
        })
        .collect();
    let mut options = Options {
        token_lifetime: settings.token_lifetime,
        state_file: settings.state.clone(),
        ..Default::default()
    };
    settings.apply_variants("Piwik PRO", VARIANTS, |name| options.variant(name))?;
    Ok(Standalone {
        api: std::sync::Arc::new(Sandbox::new(data, options)),
        name: "Piwik PRO",
        credentials,
    })
}
