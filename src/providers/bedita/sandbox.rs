//! A strict local simulator of the BEdita 5 API (`apis.md` §3): authentication, users, roles and
//! the trash.
//!
//! It enforces what BEdita 5.30 does with its default settings: the application's API key
//! (`X-Api-Key` or `api_key`) unless a bearer token names the application; `POST /auth` with a
//! `grant_type`, access tokens that expire (`be_token_expired`) and renew tokens that do not;
//! anonymous reads but authenticated writes; the exact `Accept` and `Content-Type` checks;
//! JSON:API documents with string ids and resource types; `draft` as the default status;
//! usernames and emails that stay reserved while their user sits in the trash; soft delete and
//! restore; role priorities and the protected admin user and role. Every answer carries
//! `X-BEdita-Version`, and errors come as BEdita's single `error` object with `links`.
//!
//! The order of the checks follows BEdita's middleware and controllers: the application (403),
//! the bearer token (401), the route (404, 405), content negotiation (406, 415), the identity a
//! write needs (401), the admin role (403), the request body (415, 400), then the operation.
//!
//! It is stricter than BEdita in a few places, so that a client cannot come to depend on
//! leniency:
//! - user attributes other than `username`, `email`, `name`, `surname`, `lang`, `status` and
//!   `password`, and role attributes other than `name` and `description`, are refused with 400
//!   (BEdita stores many more and drops unknown ones); a role's read-only `priority` and
//!   `unchangeable` are ignored, as BEdita ignores them;
//! - roles cannot be given in the body that creates a user; they are set through
//!   `/users/{id}/relationships/roles`;
//! - every write needs the admin role (id 1).
//!
//! Deployment settings take BEdita's defaults: access tokens last 20 minutes, only users with
//! status `on` can log in, pages hold 20 items and at most 100 (a larger `page_size` is capped),
//! and any non-empty `lang` is accepted. Where BEdita leaves a choice:
//! - an empty list is one empty page (`page_count` 1, as CakePHP counts), and a later page is 404;
//! - `GET /trash` lists deleted users as `users` resources with all their attributes, and
//!   `filter[type]` selects them;
//! - roles have no stored modification time, so their `meta.modified` is their creation time;
//! - `uname` is derived from `username` (a slug, with `-<id>` added when another user has it);
//! - access tokens are opaque strings rather than JWTs, kept in memory, so a restart logs every
//!   client out.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::model::vocab::Email;
use crate::providers::sandbox::{Api, Reply, Request, read_json, timestamp, write_json};

/// JSON:API's media type, which BEdita speaks.
pub const MEDIA_TYPE: &str = "application/vnd.api+json";
/// The other media type BEdita accepts and answers in, with the same documents.
const JSON: &str = "application/json";
/// Accepted by `POST /auth` only.
const FORM: &str = "application/x-www-form-urlencoded";
/// The BEdita release the sandbox answers as, in `X-BEdita-Version`.
pub const VERSION: &str = "5.30.2";
const VERSION_HEADER: &str = "x-bedita-version";

/// The API key of the built-in seed's application.
pub const SEED_API_KEY: &str = "sandbox-api-key";
/// The secret of the built-in seed's application, for `grant_type=client_credentials`.
pub const SEED_CLIENT_SECRET: &str = "sandbox-client-secret";
/// The built-in administrator of the seed: user id 1, holding role 1 `admin`.
pub const SEED_USERNAME: &str = "bedita";
pub const SEED_PASSWORD: &str = "bedita";

/// The administrator, who cannot be deleted or lose the admin role.
pub const ADMIN_USER: u64 = 1;
/// The admin role, which every write needs.
pub const ADMIN_ROLE: u64 = 1;
/// Items on a page unless `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// The largest page; a larger `page_size` is reduced to it.
pub const MAX_PAGE_SIZE: usize = 100;
/// The priority of a role created through the API (lower is more powerful).
const NEW_ROLE_PRIORITY: u32 = 100;
/// The revision reported for every type's JSON Schema in `meta.schema`.
const SCHEMA_REVISION: &str = "2854751012";
/// How long an expired access token is still recognised as expired rather than unknown.
const EXPIRED_MEMORY: Duration = Duration::from_secs(3600);
/// The longest an access token may last, whatever the options say.
const LONGEST_LIFETIME: Duration = Duration::from_secs(10 * 365 * 86_400);
/// Role names are at most this many characters, as BEdita's `roles.name` column.
const ROLE_NAME_MAX: usize = 32;

/// The sandbox's application, roles and users: the seed and state file format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// The application's API key, which is also its `client_id`.
    pub api_key: String,
    /// The application's secret for `grant_type=client_credentials`; empty turns that grant off.
    pub client_secret: String,
    /// The next id to give out. Users and roles draw from the same sequence.
    pub next_id: u64,
    pub roles: Vec<Role>,
    pub users: Vec<User>,
}

/// A stored role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub id: u64,
    /// Unique, compared without regard to case.
    pub name: String,
    pub description: Option<String>,
    /// The role can be neither deleted nor renamed.
    #[serde(default)]
    pub unchangeable: bool,
    /// Lower is more powerful. A caller may grant and revoke only roles whose priority is not
    /// lower than its own best.
    pub priority: u32,
    /// Seconds since the Unix epoch.
    pub created: u64,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: u64,
    /// Unique, compared without regard to case, also while the user is in the trash.
    pub username: String,
    /// Unique when set, like `username`.
    pub email: Option<String>,
    pub name: Option<String>,
    pub surname: Option<String>,
    pub lang: Option<String>,
    /// `on`, `off` or `draft`; only `on` can log in.
    pub status: String,
    /// The password's SHA-256 in lower-case hex (see [`password_hash`]); none without a password.
    pub password_hash: Option<String>,
    /// The ids of the roles the user holds.
    #[serde(default)]
    pub roles: Vec<u64>,
    /// The user is in the trash.
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub blocked: bool,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub modified: u64,
}

/// The stored form of a password: its SHA-256, in lower-case hex.
pub fn password_hash(password: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(password.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

impl Data {
    /// A magazine's editorial team to try rollcall on: the built-in administrator, editors and a
    /// reviewer, one editor switched off and one in the trash.
    pub fn seed() -> Data {
        let day = |n: u64| 1_704_067_200 + n * 86_400;
        let role = |id: u64, name: &str, description: &str, priority: u32| Role {
            id,
            name: name.into(),
            description: Some(description.into()),
            unchangeable: id == ADMIN_ROLE,
            priority,
            created: day(0),
        };
        let user = |id: u64, username: &str, full_name: (&str, &str), lang: &str, role: u64| User {
            id,
            username: username.into(),
            email: Some(format!("{username}@magazine.example.com")),
            name: Some(full_name.0.into()),
            surname: Some(full_name.1.into()),
            lang: Some(lang.into()),
            status: "on".into(),
            password_hash: None,
            roles: vec![role],
            deleted: false,
            blocked: false,
            created: day(id),
            modified: day(id),
        };
        let admin = User {
            id: ADMIN_USER,
            username: SEED_USERNAME.into(),
            email: None,
            name: None,
            surname: None,
            lang: None,
            status: "on".into(),
            password_hash: Some(password_hash(SEED_PASSWORD)),
            roles: vec![ADMIN_ROLE],
            deleted: false,
            blocked: false,
            created: day(0),
            modified: day(0),
        };
        let mut on_leave = user(7, "matteo.lombardi", ("Matteo", "Lombardi"), "it", 2);
        on_leave.status = "off".into();
        let mut departed = user(8, "roberto.esposito", ("Roberto", "Esposito"), "it", 2);
        departed.deleted = true;
        departed.modified = day(40);
        Data {
            api_key: SEED_API_KEY.into(),
            client_secret: SEED_CLIENT_SECRET.into(),
            next_id: 9,
            roles: vec![
                role(1, "admin", "Full access, including users and roles.", 0),
                role(2, "editor", "Writes and publishes articles.", 100),
                role(3, "reviewer", "Reads drafts and leaves comments.", 100),
            ],
            users: vec![
                admin,
                user(4, "luca.ferrari", ("Luca", "Ferrari"), "it", 2),
                user(5, "elena.greco", ("Elena", "Greco"), "en", 2),
                user(6, "anna.marino", ("Anna", "Marino"), "it", 3),
                on_leave,
                departed,
            ],
        }
    }

    /// Reads a seed or state file.
    pub fn read(path: &Path) -> anyhow::Result<Data> {
        read_json(path, "BEdita sandbox data")
    }

    /// Writes the data atomically.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        write_json(self, path)
    }

    /// Takes the next id, above every id in use even if the file's `next_id` lags behind.
    fn allocate(&mut self) -> u64 {
        let highest = self
            .users
            .iter()
            .map(|u| u.id)
            .chain(self.roles.iter().map(|r| r.id))
            .max()
            .unwrap_or(0);
        let id = self.next_id.max(highest.saturating_add(1));
        self.next_id = id.saturating_add(1);
        id
    }
}

/// Options of the simulator itself (faults are the server's business).
#[derive(Debug, Clone)]
pub struct Options {
    /// How long an access token lasts.
    pub token_lifetime: Duration,
    /// Where the data is saved after every write.
    pub state_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            token_lifetime: Duration::from_secs(20 * 60),
            state_file: None,
        }
    }
}

/// The simulator.
pub struct Sandbox {
    inner: Mutex<Inner>,
    options: Options,
}

struct Inner {
    data: Data,
    /// Every user's `uname`, worked out once between writes.
    unames: std::cell::OnceCell<Unames>,
    /// Access tokens by value.
    access: HashMap<String, Access>,
    /// Renew tokens by value, which never expire: the user each renews, none for the application.
    renew: HashMap<String, Option<u64>>,
}

struct Access {
    /// None for an application token (`client_credentials`).
    user: Option<u64>,
    expires: Instant,
}

impl Sandbox {
    pub fn new(data: Data, options: Options) -> Self {
        Sandbox {
            inner: Mutex::new(Inner {
                data,
                unames: std::cell::OnceCell::new(),
                access: HashMap::new(),
                renew: HashMap::new(),
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

    /// Makes every access token issued so far expired; renew tokens keep working.
    pub fn expire_tokens(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            let now = Instant::now();
            for access in inner.access.values_mut() {
                access.expires = access.expires.min(now);
            }
        }
    }
}

/// An error answer, rendered as BEdita's `error` object.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    title: String,
    detail: Option<String>,
    code: Option<&'static str>,
    /// The methods the path answers, for a 405.
    allow: Option<&'static str>,
}

impl Failure {
    fn new(status: StatusCode, title: impl Into<String>) -> Self {
        Failure {
            status,
            title: title.into(),
            detail: None,
            code: None,
            allow: None,
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// 400 "Invalid data", BEdita's answer to a body or query it cannot use.
fn invalid(detail: impl Into<String>) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, "Invalid data").detail(detail)
}

fn not_found(table: &str) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        format!("Record not found in table \"{table}\""),
    )
}

fn unparsable() -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, "Error parsing request body")
}

fn conflict(title: &str) -> Failure {
    Failure::new(StatusCode::CONFLICT, title)
}

fn method_not_allowed(allow: &'static str) -> Failure {
    let mut failure = Failure::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    failure.allow = Some(allow);
    failure
}

/// One `[field.rule]: message` entry of a validation failure.
fn rule(field: &str, rule: &str) -> String {
    let message = match rule {
        "_required" => "This field is required",
        "_empty" => "This field cannot be left empty",
        "unknown" => "The sandbox does not store this attribute",
        _ => "The provided value is invalid",
    };
    format!("[{field}.{rule}]: {message}")
}

/// Who a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// Identified by the API key only.
    Anonymous,
    /// An application token, with no user.
    App,
    User(u64),
}

/// The state of the API key a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Missing,
    Invalid,
    Valid,
}

/// A request being served, with what every answer needs.
struct Call<'a> {
    request: &'a Request,
    /// `http://` and the Host header.
    base: String,
    /// The media type answers are given in.
    reply_type: &'static str,
    caller: Caller,
}

impl Call<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn home(&self) -> String {
        self.url("/home")
    }

    fn with_query(&self, query: &[(String, String)]) -> String {
        let encoded = serde_urlencoded::to_string(query).unwrap_or_default();
        if encoded.is_empty() {
            self.url(&self.request.path)
        } else {
            format!("{}?{encoded}", self.url(&self.request.path))
        }
    }

    fn self_url(&self) -> String {
        self.with_query(&self.request.query)
    }

    /// This request's URL on another page.
    fn page_url(&self, page: usize) -> String {
        let mut query: Vec<(String, String)> = self
            .request
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .cloned()
            .collect();
        query.push(("page".into(), page.to_string()));
        self.with_query(&query)
    }

    fn links(&self) -> Value {
        json!({ "self": self.self_url(), "home": self.home() })
    }

    fn reply(&self, status: StatusCode, body: &Value) -> Reply {
        Reply::json(status, self.reply_type, body)
    }

    fn failure(&self, failure: Failure) -> Reply {
        let mut error = Map::new();
        error.insert("status".into(), failure.status.as_str().into());
        error.insert("title".into(), failure.title.into());
        if let Some(detail) = failure.detail {
            error.insert("detail".into(), detail.into());
        }
        if let Some(code) = failure.code {
            error.insert("code".into(), code.into());
        }
        let mut reply = self.reply(
            failure.status,
            &json!({ "error": error, "links": self.links() }),
        );
        if let Some(allow) = failure.allow {
            reply.headers.push(("allow", allow.into()));
        }
        reply
    }

    fn schema(&self, types: &[&str]) -> Value {
        let mut schema = Map::new();
        for kind in types {
            schema.insert(
                (*kind).into(),
                json!({ "$id": self.url(&format!("/model/schema/{kind}")), "revision": SCHEMA_REVISION }),
            );
        }
        Value::Object(schema)
    }
}

/// The endpoints.
#[derive(Debug, Clone, Copy)]
enum Route<'a> {
    Home,
    Auth,
    AuthUser,
    Users,
    User(&'a str),
    UserRoles(&'a str),
    UserRoleLinks(&'a str),
    Roles,
    Role(&'a str),
    Trash,
    TrashItem(&'a str),
}

impl<'a> Route<'a> {
    fn parse(segments: &[&'a str]) -> Option<Self> {
        Some(match segments {
            [] | ["home"] => Route::Home,
            ["auth"] => Route::Auth,
            ["auth", "user"] => Route::AuthUser,
            ["users"] => Route::Users,
            ["users", id] => Route::User(id),
            ["users", id, "roles"] => Route::UserRoles(id),
            ["users", id, "relationships", "roles"] => Route::UserRoleLinks(id),
            ["roles"] => Route::Roles,
            ["roles", id] => Route::Role(id),
            ["trash"] => Route::Trash,
            ["trash", id] => Route::TrashItem(id),
            _ => return None,
        })
    }

    /// The methods the endpoint answers, as an `Allow` header.
    fn allowed(self) -> &'static str {
        match self {
            Route::Home | Route::AuthUser | Route::UserRoles(_) | Route::Trash => "GET",
            Route::Auth => "POST",
            Route::Users => "GET, POST, DELETE",
            Route::Roles => "GET, POST",
            Route::User(_) | Route::Role(_) | Route::TrashItem(_) => "GET, PATCH, DELETE",
            Route::UserRoleLinks(_) => "GET, POST, PATCH, DELETE",
        }
    }
}

/// How a relationship write changes a user's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Add,
    Remove,
    Replace,
}

/// A list's page.
#[derive(Debug, Clone, Copy)]
struct Paging {
    page: usize,
    size: usize,
}

/// A list's query: paging, filters, sort and includes, each checked against what the list knows.
struct ListQuery {
    paging: Paging,
    /// Filter name (`q` as `query`) and value.
    filters: Vec<(String, String)>,
    /// Field and whether descending.
    sort: Option<(String, bool)>,
    include: Vec<String>,
}

impl ListQuery {
    fn parse(
        request: &Request,
        filters: &[&str],
        sorts: &[&str],
        includes: &[&str],
    ) -> Result<Self, Failure> {
        let number = |name: &str, default: usize| -> Result<usize, Failure> {
            match request.query(name) {
                None => Ok(default),
                Some(text) => text
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        invalid(format!(
                            "\"{name}\" must be a positive integer, \"{text}\" given"
                        ))
                    }),
            }
        };
        let paging = Paging {
            page: number("page", 1)?,
            size: number("page_size", DEFAULT_PAGE_SIZE)?.min(MAX_PAGE_SIZE),
        };
        let mut found = Vec::new();
        for (key, value) in &request.query {
            let name = if key == "q" {
                "query"
            } else if let Some(name) = key
                .strip_prefix("filter[")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                name
            } else {
                continue;
            };
            if name != "query" && !filters.contains(&name) {
                return Err(invalid(format!("filter \"{name}\" was not found")));
            }
            found.push((name.to_string(), value.clone()));
        }
        let sort = match request.query("sort") {
            None => None,
            Some(text) => {
                let (descending, field) = text
                    .strip_prefix('-')
                    .map_or((false, text), |field| (true, field));
                if !sorts.contains(&field) {
                    return Err(Failure::new(
                        StatusCode::BAD_REQUEST,
                        "Unsupported sorting field",
                    ));
                }
                Some((field.to_string(), descending))
            }
        };
        let mut include = Vec::new();
        for name in request
            .query("include")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            if !includes.contains(&name) {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Invalid \"include\" query parameter (Relationship \"{name}\" does not exist)"
                    ),
                ));
            }
            include.push(name.to_string());
        }
        Ok(ListQuery {
            paging,
            filters: found,
            sort,
            include,
        })
    }

    fn includes(&self, name: &str) -> bool {
        self.include.iter().any(|n| n == name)
    }
}

/// Cuts one page out of `items`; also returns the list's `links` and `meta.pagination`.
fn paginate<T>(
    call: &Call,
    items: Vec<T>,
    paging: Paging,
) -> Result<(Vec<T>, Value, Value), Failure> {
    let count = items.len();
    let page_count = count.div_ceil(paging.size).max(1);
    if paging.page > page_count {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!("Page number {} could not be found.", paging.page),
        )
        .detail(format!("the last page is {page_count}")));
    }
    let items: Vec<T> = items
        .into_iter()
        .skip((paging.page - 1) * paging.size)
        .take(paging.size)
        .collect();
    let links = json!({
        "self": call.self_url(),
        "home": call.home(),
        "first": call.page_url(1),
        "last": call.page_url(page_count),
        "prev": (paging.page > 1).then(|| call.page_url(paging.page - 1)),
        "next": (paging.page < page_count).then(|| call.page_url(paging.page + 1)),
    });
    let pagination = json!({
        "count": count,
        "page": paging.page,
        "page_count": page_count,
        "page_items": items.len(),
        "page_size": paging.size,
    });
    Ok((items, links, pagination))
}

/// A sort key: numbers, or text compared without regard to case (missing text first).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Number(u64),
    Text(String),
}

fn text_key(text: Option<&str>) -> SortKey {
    SortKey::Text(text.unwrap_or_default().to_lowercase())
}

/// Sorts by `key` in the requested direction, ties by id.
fn sort_by_key<T>(
    items: &mut [&T],
    sort: Option<&(String, bool)>,
    id: impl Fn(&T) -> u64,
    key: impl Fn(&T, &str) -> SortKey,
) {
    let Some((field, descending)) = sort else {
        items.sort_by_key(|item| id(item));
        return;
    };
    items.sort_by(|a, b| {
        let order = key(a, field).cmp(&key(b, field));
        let order = if *descending { order.reverse() } else { order };
        order.then(id(a).cmp(&id(b)))
    });
}

/// Unique `uname`s derived from usernames.
struct Unames(HashMap<String, u64>);

impl Unames {
    fn new(users: &[User]) -> Self {
        let mut taken: HashMap<String, u64> = HashMap::new();
        for user in users {
            let slug = Self::slug(user);
            let holder = taken.entry(slug).or_insert(user.id);
            *holder = (*holder).min(user.id);
        }
        Unames(taken)
    }

    /// The username in lower case with every run of other characters made one `-`; `user-<id>`
    /// when that is empty or only digits, since a `uname` may not be a number.
    fn slug(user: &User) -> String {
        let mut slug = String::new();
        for c in user.username.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-').to_string();
        if slug.bytes().all(|b| b.is_ascii_digit()) {
            format!("user-{}", user.id)
        } else {
            slug
        }
    }

    fn of(&self, user: &User) -> String {
        let slug = Self::slug(user);
        if self.0.get(&slug).is_none_or(|holder| *holder == user.id) {
            slug
        } else {
            format!("{slug}-{}", user.id)
        }
    }
}

/// The attributes a user resource shows that the sandbox does not store.
const UNSTORED_ATTRIBUTES: &[&str] = &[
    "description",
    "body",
    "extra",
    "person_title",
    "gender",
    "birthdate",
    "deathdate",
    "company_name",
    "company_kind",
    "street_address",
    "city",
    "zipcode",
    "country",
    "state_name",
    "phone",
    "website",
    "national_id_number",
    "vat_number",
    "publish_start",
    "publish_end",
    "pseudonym",
    "user_preferences",
];

const USER_FILTERS: &[&str] = &[
    "id", "username", "email", "status", "roles", "name", "surname", "lang", "uname",
];
const USER_SORTS: &[&str] = &[
    "id", "username", "email", "name", "surname", "title", "status", "created", "modified",
];
const ROLE_SORTS: &[&str] = &["id", "name", "priority", "created"];
const TRASH_SORTS: &[&str] = &["id", "created", "modified"];

fn title(user: &User) -> String {
    let full = [user.name.as_deref(), user.surname.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if full.is_empty() {
        user.username.clone()
    } else {
        full
    }
}

fn user_key(user: &User, field: &str) -> SortKey {
    match field {
        "username" => text_key(Some(&user.username)),
        "email" => text_key(user.email.as_deref()),
        "name" => text_key(user.name.as_deref()),
        "surname" => text_key(user.surname.as_deref()),
        "title" => text_key(Some(&title(user))),
        "status" => text_key(Some(&user.status)),
        "created" => SortKey::Number(user.created),
        "modified" => SortKey::Number(user.modified),
        _ => SortKey::Number(user.id),
    }
}

fn same_text(stored: Option<&str>, wanted: &str) -> bool {
    stored.is_some_and(|s| s.to_lowercase() == wanted.to_lowercase())
}

/// Whether a user can log in: in place, not blocked, status `on`.
fn can_log_in(user: &User) -> bool {
    !user.deleted && !user.blocked && user.status == "on"
}

/// A username may be an email; otherwise it may not hold `<>:/=` nor misplaced dots.
fn valid_username(username: &str) -> bool {
    if Email::parse(username).is_ok() && username.trim() == username {
        return true;
    }
    !username.contains(['<', '>', ':', '/', '='])
        && !username.contains("..")
        && !username.starts_with('.')
        && !username.ends_with('.')
}

fn valid_email(email: &str) -> bool {
    Email::parse(email).is_ok() && email.trim() == email
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .header("authorization")?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Reads a JSON:API document: exact media type, JSON, a top-level object with `data`.
fn document(request: &Request) -> Result<Map<String, Value>, Failure> {
    let content_type = request.header("content-type").unwrap_or("");
    if content_type != MEDIA_TYPE && content_type != JSON {
        let base = content_type.split(';').next().unwrap_or("").trim();
        if content_type.contains(';') && (base == MEDIA_TYPE || base == JSON) {
            return Err(invalid(format!(
                "the body was not read: its Content-Type has parameters; send exactly \"{MEDIA_TYPE}\" or \"{JSON}\""
            )));
        }
        return Err(
            Failure::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")
                .detail(format!("send the body as \"{MEDIA_TYPE}\" or \"{JSON}\"")),
        );
    }
    match serde_json::from_slice(&request.body) {
        Ok(Value::Object(document)) if document.contains_key("data") => Ok(document),
        Ok(_) => Err(invalid(
            "the body is not a JSON:API document: it has no \"data\"",
        )),
        Err(_) => Err(unparsable()),
    }
}

/// The single resource object in `data`, checked to be of `kind`.
fn resource_object<'d>(
    document: &'d Map<String, Value>,
    kind: &str,
) -> Result<&'d Map<String, Value>, Failure> {
    let Some(Value::Object(data)) = document.get("data") else {
        return Err(invalid("\"data\" must be a resource object"));
    };
    if data.get("type").and_then(Value::as_str) != Some(kind) {
        return Err(conflict("Unsupported resource type"));
    }
    Ok(data)
}

fn attributes(data: &Map<String, Value>) -> Result<Map<String, Value>, Failure> {
    match data.get("attributes") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(attributes)) => Ok(attributes.clone()),
        Some(_) => Err(invalid("\"attributes\" must be an object")),
    }
}

/// Refuses a client-generated id and relationships in a create body.
fn check_new(data: &Map<String, Value>) -> Result<(), Failure> {
    if data.get("id").is_some_and(|id| !id.is_null()) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "Client generated IDs are not supported",
        ));
    }
    if data.contains_key("relationships") {
        return Err(invalid(
            "relationships cannot be set here; use the relationships endpoint",
        ));
    }
    Ok(())
}

/// The body id must be the URL's id as a JSON string (or the resolved numeric id).
fn check_id(data: &Map<String, Value>, key: &str, id: u64) -> Result<(), Failure> {
    match data.get("id") {
        Some(Value::String(given)) if given == key || *given == id.to_string() => Ok(()),
        _ => Err(conflict("IDs don't match")),
    }
}

/// The fields of a `POST /auth` body, JSON or form-encoded; only text values count.
fn credentials(request: &Request) -> Result<HashMap<String, String>, Failure> {
    let content_type = request.header("content-type").unwrap_or("");
    let base = content_type.split(';').next().unwrap_or("").trim();
    let known = [FORM, JSON, MEDIA_TYPE].contains(&base);
    if known && request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(HashMap::new());
    }
    if base == FORM {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
            .map(|fields| fields.into_iter().collect())
            .map_err(|_| unparsable())
    } else if base == JSON || base == MEDIA_TYPE {
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::Object(fields)) => Ok(fields
                .into_iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k, s)),
                    _ => None,
                })
                .collect()),
            _ => Err(unparsable()),
        }
    } else {
        Err(
            Failure::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")
                .detail(format!("send the credentials as \"{JSON}\" or \"{FORM}\"")),
        )
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Changes a user body asks for; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Default)]
struct UserChanges {
    username: Option<String>,
    email: Option<Option<String>>,
    name: Option<Option<String>>,
    surname: Option<Option<String>>,
    lang: Option<Option<String>>,
    status: Option<String>,
    password: Option<String>,
    blocked: Option<bool>,
}

/// Changes a role body asks for.
#[derive(Debug, Default)]
struct RoleChanges {
    name: Option<String>,
    description: Option<Option<String>>,
}

/// An optional text attribute, where an empty string is stored as null.
fn optional_text(field: &str, value: &Value, errors: &mut Vec<String>) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) if s.is_empty() => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        _ => {
            errors.push(rule(field, "scalar"));
            None
        }
    }
}

impl Api for Sandbox {
    fn fault(&self, status: StatusCode, title: &str) -> Reply {
        let mut reply = Reply::json(
            status,
            MEDIA_TYPE,
            &json!({ "error": { "status": status.as_str(), "title": title } }),
        );
        reply.headers.push((VERSION_HEADER, VERSION.into()));
        reply
    }

    fn handle(&self, request: &Request) -> Reply {
        let Ok(mut inner) = self.inner.lock() else {
            return self.fault(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        };
        let accept = request.header("accept");
        let mut call = Call {
            request,
            base: format!("http://{}", request.header("host").unwrap_or("localhost")),
            reply_type: if accept == Some(JSON) {
                JSON
            } else {
                MEDIA_TYPE
            },
            caller: Caller::Anonymous,
        };
        let mut reply = match inner.serve(&mut call, self.options.token_lifetime) {
            Ok(reply) => reply,
            Err(failure) => call.failure(failure),
        };
        // A write may add or rename users, so their unames are worked out afresh.
        if request.method != Method::GET {
            inner.unames.take();
        }
        if reply.committed
            && let Some(path) = &self.options.state_file
            && let Err(err) = inner.data.write(path)
        {
            tracing::error!("sandbox: cannot save state to `{}`: {err}", path.display());
        }
        reply.headers.push((VERSION_HEADER, VERSION.into()));
        reply
    }
}

impl Inner {
    fn unames(&self) -> &Unames {
        self.unames.get_or_init(|| Unames::new(&self.data.users))
    }

    fn serve(&mut self, call: &mut Call, lifetime: Duration) -> Result<Reply, Failure> {
        let request = call.request;
        let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
        let route = Route::parse(&segments);
        let login = matches!(route, Some(Route::Auth)) && request.method == Method::POST;

        // The application: from a bearer token, else from the API key. A login may name it
        // another way (client credentials, a renew token), so its key is only checked if sent.
        let key = match request
            .header("x-api-key")
            .or_else(|| request.query("api_key"))
        {
            None => Key::Missing,
            Some(key) if !key.is_empty() && key == self.data.api_key => Key::Valid,
            Some(_) => Key::Invalid,
        };
        let bearer = bearer(request).filter(|_| !login);
        if let Some(token) = bearer {
            call.caller = self.authenticate(token)?;
        } else {
            match key {
                Key::Valid => {}
                Key::Missing if login => {}
                Key::Missing => {
                    return Err(Failure::new(StatusCode::FORBIDDEN, "Missing API key"));
                }
                Key::Invalid => {
                    return Err(Failure::new(StatusCode::FORBIDDEN, "Invalid API key"));
                }
            }
        }

        let Some(route) = route else {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                format!("A route matching \"{}\" could not be found.", request.path),
            ));
        };
        let allowed = route.allowed();
        if !allowed.split(", ").any(|m| m == request.method.as_str()) {
            return Err(method_not_allowed(allowed));
        }

        match request.header("accept") {
            Some(MEDIA_TYPE | JSON) => {}
            Some(accept) if accept.contains(MEDIA_TYPE) => {
                return Err(Failure::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported Media Type",
                )
                .detail(format!("Accept must be exactly \"{MEDIA_TYPE}\"")));
            }
            _ => {
                return Err(Failure::new(StatusCode::NOT_ACCEPTABLE, "Not Acceptable")
                    .detail(format!("Accept must be \"{MEDIA_TYPE}\" or \"{JSON}\"")));
            }
        }

        if request.method == Method::GET {
            return self.read(call, route);
        }
        if login {
            return self.login(call, key, lifetime);
        }
        let Caller::User(caller) = call.caller else {
            return Err(Failure::new(
                StatusCode::UNAUTHORIZED,
                "Authentication is required to continue",
            ));
        };
        if !self.is_admin(caller) {
            return Err(Failure::new(StatusCode::FORBIDDEN, "Unauthorized"));
        }
        self.write(call, route, caller)
    }

    fn read(&self, call: &Call, route: Route) -> Result<Reply, Failure> {
        match route {
            Route::Home => Ok(self.home(call)),
            Route::AuthUser => self.whoami(call),
            Route::Users => self.list_users(call),
            Route::User(key) => self.get_user(call, key),
            Route::UserRoles(key) => self.user_roles(call, key, true),
            Route::UserRoleLinks(key) => self.user_roles(call, key, false),
            Route::Roles => self.list_roles(call),
            Route::Role(key) => self.get_role(call, key),
            Route::Trash => self.list_trash(call),
            Route::TrashItem(key) => self.get_trashed(call, key),
            Route::Auth => Err(method_not_allowed(route.allowed())),
        }
    }

    fn write(&mut self, call: &Call, route: Route, caller: u64) -> Result<Reply, Failure> {
        match (&call.request.method, route) {
            (&Method::POST, Route::Users) => self.create_user(call),
            (&Method::DELETE, Route::Users) => self.delete_users(call, caller),
            (&Method::PATCH, Route::User(key)) => self.update_user(call, key),
            (&Method::DELETE, Route::User(key)) => self.delete_user(key, caller),
            (&Method::POST, Route::UserRoleLinks(key)) => {
                self.change_roles(call, key, caller, Change::Add)
            }
            (&Method::DELETE, Route::UserRoleLinks(key)) => {
                self.change_roles(call, key, caller, Change::Remove)
            }
            (&Method::PATCH, Route::UserRoleLinks(key)) => {
                self.change_roles(call, key, caller, Change::Replace)
            }
            (&Method::POST, Route::Roles) => self.create_role(call),
            (&Method::PATCH, Route::Role(key)) => self.update_role(call, key),
            (&Method::DELETE, Route::Role(key)) => self.delete_role(key),
            (&Method::PATCH, Route::TrashItem(key)) => self.restore(call, key),
            (&Method::DELETE, Route::TrashItem(key)) => self.purge(key),
            _ => Err(method_not_allowed(route.allowed())),
        }
    }

    // Authentication.

    fn authenticate(&self, token: &str) -> Result<Caller, Failure> {
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

    fn login(&mut self, call: &Call, key: Key, lifetime: Duration) -> Result<Reply, Failure> {
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

    fn whoami(&self, call: &Call) -> Result<Reply, Failure> {
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

    fn home(&self, call: &Call) -> Reply {
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

    // Lookups and checks.

    fn is_admin(&self, caller: u64) -> bool {
        self.data
            .users
            .iter()
            .any(|u| u.id == caller && !u.deleted && u.roles.contains(&ADMIN_ROLE))
    }

    /// The caller's best (lowest) role priority.
    fn best_priority(&self, caller: u64) -> u32 {
        let Some(user) = self.data.users.iter().find(|u| u.id == caller) else {
            return u32::MAX;
        };
        self.data
            .roles
            .iter()
            .filter(|r| user.roles.contains(&r.id))
            .map(|r| r.priority)
            .min()
            .unwrap_or(u32::MAX)
    }

    /// A user by id or `uname`: one in place, or with `trashed` one in the trash (by id only).
    fn user_index(&self, key: &str, trashed: bool) -> Result<usize, Failure> {
        let found = match key.parse::<u64>() {
            Ok(id) => self.data.users.iter().position(|u| u.id == id),
            Err(_) if !trashed => {
                let unames = self.unames();
                self.data.users.iter().position(|u| unames.of(u) == key)
            }
            Err(_) => None,
        };
        found
            .filter(|i| self.data.users[*i].deleted == trashed)
            .ok_or_else(|| not_found(if trashed { "objects" } else { "users" }))
    }

    /// A role by id or name.
    fn role_index(&self, key: &str) -> Result<usize, Failure> {
        match key.parse::<u64>() {
            Ok(id) => self.data.roles.iter().position(|r| r.id == id),
            Err(_) => self
                .data
                .roles
                .iter()
                .position(|r| same_text(Some(&r.name), key)),
        }
        .ok_or_else(|| not_found("roles"))
    }

    fn user_matches(&self, user: &User, filter: &str, value: &str) -> bool {
        match filter {
            "query" => {
                let needle = value.to_lowercase();
                [
                    Some(user.username.as_str()),
                    Some(title(user).as_str()),
                    user.name.as_deref(),
                    user.surname.as_deref(),
                    user.email.as_deref(),
                ]
                .into_iter()
                .flatten()
                .any(|text| text.to_lowercase().contains(&needle))
            }
            "id" => value
                .split(',')
                .any(|id| id.trim().parse::<u64>() == Ok(user.id)),
            "username" => same_text(Some(&user.username), value),
            "email" => same_text(user.email.as_deref(), value),
            "status" => value.split(',').any(|s| s.trim() == user.status),
            "roles" => value.split(',').map(str::trim).any(|wanted| {
                self.data.roles.iter().any(|r| {
                    (r.id.to_string() == wanted || same_text(Some(&r.name), wanted))
                        && user.roles.contains(&r.id)
                })
            }),
            "name" => same_text(user.name.as_deref(), value),
            "surname" => same_text(user.surname.as_deref(), value),
            "lang" => same_text(user.lang.as_deref(), value),
            "uname" => self.unames().of(user) == value,
            _ => false,
        }
    }

    /// The roles a user holds, by id.
    fn roles_of(&self, user: &User) -> Vec<&Role> {
        let mut roles: Vec<&Role> = self
            .data
            .roles
            .iter()
            .filter(|r| user.roles.contains(&r.id))
            .collect();
        roles.sort_by_key(|r| r.id);
        roles
    }

    // Rendering.

    fn user_resource(&self, call: &Call, unames: &Unames, user: &User, with_roles: bool) -> Value {
        let mut attributes = Map::new();
        attributes.insert("status".into(), user.status.clone().into());
        attributes.insert("uname".into(), unames.of(user).into());
        attributes.insert("title".into(), title(user).into());
        attributes.insert("lang".into(), json!(user.lang));
        attributes.insert("name".into(), json!(user.name));
        attributes.insert("surname".into(), json!(user.surname));
        attributes.insert("email".into(), json!(user.email));
        attributes.insert("username".into(), user.username.clone().into());
        attributes.insert("company".into(), false.into());
        for name in UNSTORED_ATTRIBUTES {
            attributes.insert((*name).into(), Value::Null);
        }
        let path = if user.deleted {
            format!("/trash/{}", user.id)
        } else {
            format!("/users/{}", user.id)
        };
        let mut resource = json!({
            "id": user.id.to_string(),
            "type": "users",
            "attributes": attributes,
            "meta": {
                "locked": false,
                "created": timestamp(user.created),
                "modified": timestamp(user.modified),
                "published": null,
                "created_by": ADMIN_USER,
                "modified_by": ADMIN_USER,
                "blocked": user.blocked,
                "last_login": null,
                "last_login_err": null,
                "num_login_err": 0,
                "verified": null,
                "password_modified": user.password_hash.as_ref().map(|_| timestamp(user.created)),
                "external_auth": [],
            },
            "links": { "self": call.url(&path) },
        });
        if !user.deleted {
            let mut roles = json!({
                "links": {
                    "related": call.url(&format!("{path}/roles")),
                    "self": call.url(&format!("{path}/relationships/roles")),
                }
            });
            if with_roles {
                roles["data"] = self
                    .roles_of(user)
                    .iter()
                    .map(|r| json!({ "id": r.id.to_string(), "type": "roles" }))
                    .collect();
            }
            resource["relationships"] = json!({ "roles": roles });
        }
        resource
    }

    fn role_resource(call: &Call, role: &Role) -> Value {
        json!({
            "id": role.id.to_string(),
            "type": "roles",
            "attributes": { "name": role.name, "description": role.description },
            "meta": {
                "unchangeable": role.unchangeable,
                "created": timestamp(role.created),
                "modified": timestamp(role.created),
                "priority": role.priority,
            },
            "links": { "self": call.url(&format!("/roles/{}", role.id)) },
        })
    }

    /// The role resources the given users hold, each once, by id.
    fn included_roles<'u>(&self, call: &Call, users: impl Iterator<Item = &'u User>) -> Value {
        let ids: BTreeSet<u64> = users.flat_map(|u| u.roles.iter().copied()).collect();
        self.data
            .roles
            .iter()
            .filter(|r| ids.contains(&r.id))
            .map(|r| (r.id, Self::role_resource(call, r)))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect()
    }

    fn single_user(&self, call: &Call, user: &User, with_roles: bool) -> Value {
        let unames = self.unames();
        let mut body = json!({
            "data": self.user_resource(call, unames, user, with_roles),
            "links": call.links(),
            "meta": { "schema": call.schema(if with_roles { &["users", "roles"] } else { &["users"] }) },
        });
        if with_roles {
            body["included"] = self.included_roles(call, std::iter::once(user));
        }
        body
    }

    // Users.

    fn list_users(&self, call: &Call) -> Result<Reply, Failure> {
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

    fn get_user(&self, call: &Call, key: &str) -> Result<Reply, Failure> {
        let query = ListQuery::parse(call.request, &[], &[], &["roles"])?;
        let index = self.user_index(key, false)?;
        let body = self.single_user(call, &self.data.users[index], query.includes("roles"));
        Ok(call.reply(StatusCode::OK, &body))
    }

    /// Checks the attributes (and `meta.blocked`) of a create or update body; `existing` is the
    /// id of the user an update changes.
    fn user_changes(
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

    fn create_user(&mut self, call: &Call) -> Result<Reply, Failure> {
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

    fn update_user(&mut self, call: &Call, key: &str) -> Result<Reply, Failure> {
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
        if let Some(blocked) = changes.blocked {
            user.blocked = blocked;
        }
        user.modified = now();
        let body = self.single_user(call, &self.data.users[index], false);
        Ok(call.reply(StatusCode::OK, &body).committed())
    }

    /// Refuses to delete the administrator or the caller.
    fn check_deletable(&self, index: usize, caller: u64) -> Result<(), Failure> {
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

    fn delete_user(&mut self, key: &str, caller: u64) -> Result<Reply, Failure> {
        let index = self.user_index(key, false)?;
        self.check_deletable(index, caller)?;
        let user = &mut self.data.users[index];
        user.deleted = true;
        user.modified = now();
        Ok(Reply::empty(StatusCode::NO_CONTENT).committed())
    }

    /// `DELETE /users?ids=5,6`: all or none.
    fn delete_users(&mut self, call: &Call, caller: u64) -> Result<Reply, Failure> {
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

    // A user's roles.

    fn user_roles(&self, call: &Call, key: &str, full: bool) -> Result<Reply, Failure> {
        let query = ListQuery::parse(call.request, &[], &[], &[])?;
        let index = self.user_index(key, false)?;
        let roles = self.roles_of(&self.data.users[index]);
        let (roles, mut links, pagination) = paginate(call, roles, query.paging)?;
        links["available"] = call.url("/roles").into();
        let data: Vec<Value> = roles
            .iter()
            .map(|r| {
                if full {
                    Self::role_resource(call, r)
                } else {
                    json!({ "id": r.id.to_string(), "type": "roles" })
                }
            })
            .collect();
        let mut meta = json!({ "pagination": pagination });
        if full {
            meta["schema"] = call.schema(&["roles"]);
        }
        Ok(call.reply(
            StatusCode::OK,
            &json!({ "data": data, "links": links, "meta": meta }),
        ))
    }

    fn change_roles(
        &mut self,
        call: &Call,
        key: &str,
        caller: u64,
        change: Change,
    ) -> Result<Reply, Failure> {
        let index = self.user_index(key, false)?;
        let document = document(call.request)?;
        let items: Vec<&Value> = match document.get("data") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item @ Value::Object(_)) => vec![item],
            _ => {
                return Err(invalid(
                    "\"data\" must be a resource identifier or a list of them",
                ));
            }
        };
        let mut wanted = BTreeSet::new();
        for item in items {
            let Value::Object(item) = item else {
                return Err(invalid("\"data\" must hold resource identifiers"));
            };
            if item.get("type").and_then(Value::as_str) != Some("roles") {
                return Err(conflict("Unsupported resource type"));
            }
            // Ids only, as text or number: a role's name is not looked up here.
            let id = match item.get("id") {
                None | Some(Value::Null) => {
                    return Err(invalid("a resource identifier has no \"id\""));
                }
                Some(Value::String(id)) => id.parse::<u64>().ok(),
                Some(Value::Number(id)) => id.as_u64(),
                Some(_) => None,
            };
            let role = id
                .and_then(|id| self.data.roles.iter().find(|r| r.id == id))
                .ok_or_else(|| not_found("roles"))?;
            wanted.insert(role.id);
        }
        let user = &self.data.users[index];
        let current: BTreeSet<u64> = user.roles.iter().copied().collect();
        let next: BTreeSet<u64> = match change {
            Change::Add => current.union(&wanted).copied().collect(),
            Change::Remove => current.difference(&wanted).copied().collect(),
            Change::Replace => wanted,
        };
        if user.id == ADMIN_USER && current.contains(&ADMIN_ROLE) && !next.contains(&ADMIN_ROLE) {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "Could not update relationship for users/roles for ADMIN_USER and ADMIN_ROLE",
            ));
        }
        let best = self.best_priority(caller);
        let outranked = current
            .symmetric_difference(&next)
            .filter_map(|id| self.data.roles.iter().find(|r| r.id == *id))
            .any(|role| best > role.priority);
        if outranked {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "Could not update role. Insufficient priority",
            ));
        }
        if next == current {
            return Ok(Reply::empty(StatusCode::NO_CONTENT));
        }
        self.data.users[index].roles = next.into_iter().collect();
        Ok(call
            .reply(StatusCode::OK, &json!({ "links": call.links() }))
            .committed())
    }

    // Roles.

    fn list_roles(&self, call: &Call) -> Result<Reply, Failure> {
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

    fn single_role(call: &Call, role: &Role) -> Value {
        json!({
            "data": Self::role_resource(call, role),
            "links": call.links(),
            "meta": { "schema": call.schema(&["roles"]) },
        })
    }

    fn get_role(&self, call: &Call, key: &str) -> Result<Reply, Failure> {
        ListQuery::parse(call.request, &[], &[], &[])?;
        let index = self.role_index(key)?;
        Ok(call.reply(
            StatusCode::OK,
            &Self::single_role(call, &self.data.roles[index]),
        ))
    }

    /// Checks the attributes of a role body; `existing` is the id of the role an update changes.
    fn role_changes(
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

    fn create_role(&mut self, call: &Call) -> Result<Reply, Failure> {
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

    fn update_role(&mut self, call: &Call, key: &str) -> Result<Reply, Failure> {
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
    fn delete_role(&mut self, key: &str) -> Result<Reply, Failure> {
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

    // The trash.

    fn list_trash(&self, call: &Call) -> Result<Reply, Failure> {
        let query = ListQuery::parse(call.request, &["type"], TRASH_SORTS, &[])?;
        let mut users: Vec<&User> = self
            .data
            .users
            .iter()
            .filter(|u| u.deleted)
            .filter(|u| {
                query
                    .filters
                    .iter()
                    .all(|(filter, value)| match filter.as_str() {
                        "type" => value.split(',').any(|t| t.trim() == "users"),
                        _ => self.user_matches(u, filter, value),
                    })
            })
            .collect();
        sort_by_key(&mut users, query.sort.as_ref(), |u| u.id, user_key);
        let (users, links, pagination) = paginate(call, users, query.paging)?;
        let unames = self.unames();
        let data: Vec<Value> = users
            .iter()
            .map(|u| self.user_resource(call, unames, u, false))
            .collect();
        Ok(call.reply(
            StatusCode::OK,
            &json!({
                "data": data,
                "links": links,
                "meta": { "pagination": pagination, "schema": call.schema(&["users"]) },
            }),
        ))
    }

    fn get_trashed(&self, call: &Call, key: &str) -> Result<Reply, Failure> {
        ListQuery::parse(call.request, &[], &[], &[])?;
        let index = self.user_index(key, true)?;
        let body = self.single_user(call, &self.data.users[index], false);
        Ok(call.reply(StatusCode::OK, &body))
    }

    fn restore(&mut self, call: &Call, key: &str) -> Result<Reply, Failure> {
        let index = self.user_index(key, true)?;
        let document = document(call.request)?;
        let data = resource_object(&document, "users")?;
        check_id(data, key, self.data.users[index].id)?;
        let user = &mut self.data.users[index];
        user.deleted = false;
        user.modified = now();
        Ok(Reply::empty(StatusCode::NO_CONTENT).committed())
    }

    fn purge(&mut self, key: &str) -> Result<Reply, Failure> {
        let index = self.user_index(key, true)?;
        let id = self.data.users.remove(index).id;
        self.renew.retain(|_, user| *user != Some(id));
        Ok(Reply::empty(StatusCode::NO_CONTENT).committed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_consistent() {
        let data = Data::seed();
        let highest = data
            .users
            .iter()
            .map(|u| u.id)
            .chain(data.roles.iter().map(|r| r.id))
            .max();
        assert!(Some(data.next_id) > highest);
        let admin = &data.users[0];
        assert_eq!(
            (admin.id, admin.username.as_str(), admin.roles.as_slice()),
            (ADMIN_USER, SEED_USERNAME, [ADMIN_ROLE].as_slice())
        );
        assert_eq!(
            admin.password_hash.as_deref(),
            Some(password_hash(SEED_PASSWORD).as_str())
        );
        assert!(
            data.users
                .iter()
                .any(|u| u.deleted && u.username == "roberto.esposito")
        );
        assert!(data.users.iter().any(|u| u.status == "off"));
        for taken in ["giulia.rossi", "marco.bianchi", "sara.conti"] {
            assert!(data.users.iter().all(|u| u.username != taken));
        }
    }

    #[test]
    fn passwords_are_stored_as_sha256_hex() {
        assert_eq!(
            password_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ids_continue_above_every_id_in_use() {
        let mut data = Data::seed();
        data.next_id = 2;
        assert_eq!(data.allocate(), 9);
        assert_eq!(data.allocate(), 10);
    }

    #[test]
    fn unames_are_slugs_made_unique() {
        let user = |id: u64, username: &str| User {
            id,
            username: username.into(),
            email: None,
            name: None,
            surname: None,
            lang: None,
            status: "on".into(),
            password_hash: None,
            roles: Vec::new(),
            deleted: false,
            blocked: false,
            created: 0,
            modified: 0,
        };
        let users = [
            user(4, "luca.ferrari"),
            user(5, "Luca Ferrari"),
            user(6, "12345"),
        ];
        let unames = Unames::new(&users);
        assert_eq!(unames.of(&users[0]), "luca-ferrari");
        assert_eq!(unames.of(&users[1]), "luca-ferrari-5");
        assert_eq!(unames.of(&users[2]), "user-6");
    }

    #[test]
    fn usernames_follow_bedita_rules() {
        assert!(valid_username("giulia.rossi"));
        assert!(valid_username("giulia@magazine.example.com"));
        assert!(!valid_username("a/b"));
        assert!(!valid_username("a=b"));
        assert!(!valid_username("a..b"));
        assert!(!valid_username(".hidden"));
    }
}
