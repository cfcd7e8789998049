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
use crate::providers::sandbox::{
    Api, Reply, Request, Settings, Standalone, page_cap, persist, read_json, timestamp, write_json,
};

mod auth;
mod body;
mod call;
mod failure;
mod lookups;
mod query;
mod render;
mod roles;
mod trash;
mod user_roles;
mod users;

use body::*;
use call::*;
use failure::*;
use query::*;

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
    /// Leave `relationships.roles.data` out of user lists even with `include=roles`, as a proxy,
    /// an older release or a plugin may (the `no-role-data` reading of `apis.md` section 6).
    pub no_role_data: bool,
    /// Answer an update that lifts a block with 200 and leave the user blocked, as BEdita does
    /// when the signed-in user lacks the admin role (the `blocked-ignored` reading).
    pub blocked_ignored: bool,
    /// Serve at most this many items a page, whatever `page_size` asks (the `page-cap=N`
    /// reading).
    pub page_cap: Option<usize>,
}

/// The readings of `apis.md` section 6 this simulator can take, by name, with what each does.
pub const VARIANTS: &[(&str, &str)] = &[
    (
        "no-role-data",
        "user lists leave out relationships.roles.data, even with include=roles",
    ),
    (
        "blocked-ignored",
        "an update lifting a block answers 200 and leaves the user blocked",
    ),
    (
        "page-cap=N",
        "at most N items a page, whatever `page_size` asks",
    ),
];

impl Options {
    /// Turns on the variant called `name`; false when there is none by that name.
    pub fn variant(&mut self, name: &str) -> bool {
        match name {
            "no-role-data" => self.no_role_data = true,
            "blocked-ignored" => self.blocked_ignored = true,
            _ => match page_cap(name) {
                Some(n) => self.page_cap = Some(n),
                None => return false,
            },
        }
        true
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            token_lifetime: Duration::from_secs(20 * 60),
            state_file: None,
            no_role_data: false,
            blocked_ignored: false,
            page_cap: None,
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
    /// See [`Options::no_role_data`].
    no_role_data: bool,
    /// See [`Options::blocked_ignored`].
    blocked_ignored: bool,
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
                no_role_data: options.no_role_data,
                blocked_ignored: options.blocked_ignored,
            }),
            options,
        }
    }

    /// Adds a user as someone else would, in BEdita's own back office.
    pub fn add_user(&self, user: User) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.data.users.push(user);
            inner.unames = std::cell::OnceCell::new();
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
            page_cap: self.options.page_cap,
        };
        let mut reply = match inner.serve(&mut call, self.options.token_lifetime) {
            Ok(reply) => reply,
            Err(failure) => call.failure(failure),
        };
        // A write may add or rename users, so their unames are worked out afresh.
        if request.method != Method::GET {
            inner.unames.take();
        }
        persist(&reply, self.options.state_file.as_deref(), &inner.data);
        reply.headers.push((VERSION_HEADER, VERSION.into()));
        reply
    }
}

impl Inner {
    pub(super) fn unames(&self) -> &Unames {
        self.unames.get_or_init(|| Unames::new(&self.data.users))
    }

    pub(super) fn serve(&mut self, call: &mut Call, lifetime: Duration) -> Result<Reply, Failure> {
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

    pub(super) fn read(&self, call: &Call, route: Route) -> Result<Reply, Failure> {
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

    pub(super) fn write(
        &mut self,
        call: &Call,
        route: Route,
        caller: u64,
    ) -> Result<Reply, Failure> {
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
}

/// The simulator for `rollcall sandbox`, with the banner's credentials.
pub fn standalone(settings: &Settings) -> anyhow::Result<Standalone> {
    let data = settings.starting_data(Data::read, Data::seed, Data::write)?;
    let mut credentials = Vec::new();
    // The seed's administrator, while the password is still the seed's.
    let seed_hash = password_hash(SEED_PASSWORD);
    let seed_login = data
        .users
        .iter()
        .any(|u| u.username == SEED_USERNAME && u.password_hash.as_ref() == Some(&seed_hash));
    if seed_login {
        credentials.push(format!(
            "api_key={} username={SEED_USERNAME} password={SEED_PASSWORD}",
            data.api_key
        ));
    } else {
        credentials.push(format!("api_key={}", data.api_key));
    }
    if !data.client_secret.is_empty() {
        credentials.push(format!(
            "api_key={} client_secret={}",
            data.api_key, data.client_secret
        ));
    }
    let mut options = Options {
        token_lifetime: settings.token_lifetime,
        state_file: settings.state.clone(),
        ..Default::default()
    };
    settings.apply_variants("BEdita", VARIANTS, |name| options.variant(name))?;
    Ok(Standalone {
        api: std::sync::Arc::new(Sandbox::new(data, options)),
        name: "BEdita",
        credentials,
    })
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
