//! Apps, meta sites, user groups and the permissions on them (`apis.md` §7): the Apps v2, Meta
//! Sites v1, User Groups v1 and Access Control v2 APIs, as strictly as their specs say.
//!
//! Every answer is written from the sandbox's own records. A permission is stored only where it
//! is not `no-access`; owners hold everything, need no grants and are left out of every list.

use super::*;

/// An app or meta-site permission, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    NoAccess,
    View,
    Edit,
    EditPublish,
    Manage,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::NoAccess => "no-access",
            Permission::View => "view",
            Permission::Edit => "edit",
            Permission::EditPublish => "edit-publish",
            Permission::Manage => "manage",
        }
    }
}

/// What a permission is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Entity {
    App,
    MetaSite,
}

impl Entity {
    /// The permissions this kind of entity takes.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Entity::App => &[NoAccess, View, Edit, EditPublish, Manage],
            Entity::MetaSite => &[NoAccess, View, Edit, Manage],
        }
    }

    fn segment(self) -> &'static str {
        match self {
            Entity::App => "app",
            Entity::MetaSite => "meta-site",
        }
    }
}

/// Who holds a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Principal {
    User,
    UserGroup,
}

impl Principal {
    fn segment(self) -> &'static str {
        match self {
            Principal::User => "user",
            Principal::UserGroup => "user-group",
        }
    }
}

/// An app (a tracked site).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    pub id: String,
    pub name: String,
    pub added_at: String,
    pub updated_at: String,
}

/// A meta site: several apps reported together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaSite {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub apps: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A user group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub external_id: Option<String>,
    /// The identity provider owns the membership (SSO provisioning): member writes are refused.
    #[serde(default)]
    pub provisioned: bool,
    /// Member user ids, in the order added.
    #[serde(default)]
    pub members: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// One permission above `no-access`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub entity: Entity,
    /// The app or meta site id.
    pub on: String,
    pub principal: Principal,
    /// The user or group id.
    pub to: String,
    pub permission: Permission,
}

/// How the simulator reads the points `apis.md` §7 leaves open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readings {
    /// Users with no grant at all are listed, with `no-access` (the default leaves them out).
    pub no_access_listed: bool,
    /// `group_permissions` of a user in no granting group (the default is an object with an
    /// empty list and `no-access`).
    pub group_permissions: GroupPermissionsShape,
    /// A permission set for an owner answers 204 and changes nothing (the default refuses it).
    pub owner_set_ignored: bool,
    /// Group creation takes `application/vnd.api+json` as well as `application/json`.
    pub group_json_api_accepted: bool,
    /// A duplicate group name answers 409 (the default answers 400).
    pub duplicate_group_conflict: bool,
    /// Adding a member twice or removing a non-member is refused (the default accepts both).
    pub members_strict: bool,
}

/// See [`Readings::group_permissions`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GroupPermissionsShape {
    #[default]
    Object,
    Null,
    EmptyList,
}

pub(super) const USER_GROUP_TYPE: &str = "ppms/user-group";
const APP_TYPE: &str = "ppms/app";
const META_SITE_TYPE: &str = "ppms/meta-site";

/// The four APIs' base paths.
const APIS: [&str; 4] = [
    "/api/apps/v2",
    "/api/meta-sites/v1",
    "/api/user-groups/v1",
    "/api/access-control/v2",
];

/// The API of `path`, and the rest of it, when it is one of the four.
fn split(path: &str) -> Option<(&'static str, &str)> {
    APIS.into_iter().find_map(|api| {
        let rest = path.strip_prefix(api)?;
        (rest.is_empty() || rest.starts_with('/')).then_some((api, rest))
    })
}

/// Whether `path` is under one of the four APIs.
pub(super) fn serves(path: &str) -> bool {
    split(path).is_some()
}

/// Answers a request under one of the four access APIs.
pub(super) fn route(
    inner: &mut Inner,
    request: &Request,
    caller: &str,
    readings: Readings,
) -> Reply {
    let Some((api, rest)) = split(&request.path) else {
        return not_found();
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let method = &request.method;
    let cx = Cx {
        caller,
        readings,
        request,
        page_cap: inner.page_cap,
    };
    match (api, segments.as_slice()) {
        ("/api/apps/v2", []) if method == Method::GET => inner.list_apps(&cx),
        ("/api/apps/v2", [id]) if method == Method::GET => inner.one_app(id),
        ("/api/meta-sites/v1", []) if method == Method::GET => inner.list_meta_sites(&cx),
        ("/api/meta-sites/v1", [id]) if method == Method::GET => inner.one_meta_site(id),
        ("/api/user-groups/v1", []) if method == Method::GET => inner.list_groups(&cx),
        ("/api/user-groups/v1", []) if method == Method::POST => inner.create_group(&cx),
        ("/api/user-groups/v1", [id]) if method == Method::GET => inner.one_group(id),
        ("/api/user-groups/v1", [id]) if method == Method::PATCH => inner.edit_group(&cx, id),
        ("/api/user-groups/v1", [id]) if method == Method::DELETE => inner.delete_group(&cx, id),
        ("/api/user-groups/v1", [id, "users"]) if method == Method::GET => {
            inner.list_members(&cx, id)
        }
        ("/api/user-groups/v1", [id, "relationships", "users"])
            if method == Method::POST || method == Method::DELETE =>
        {
            inner.change_members(&cx, id, method == Method::POST)
        }
        ("/api/access-control/v2", [entity, on, "permission", principal]) => {
            match (parse_entity(entity), parse_principal(principal)) {
                (Some(entity), Some(principal)) if method == Method::GET => {
                    inner.list_permissions(&cx, entity, on, principal)
                }
                (Some(_), Some(_)) => not_allowed("GET"),
                _ => not_found(),
            }
        }
        ("/api/access-control/v2", [entity, on, "permission", principal, to]) => {
            match (parse_entity(entity), parse_principal(principal)) {
                (Some(entity), Some(principal)) if method == Method::POST => {
                    inner.set_permission(&cx, entity, on, principal, to)
                }
                (Some(_), Some(_)) => not_allowed("POST"),
                _ => not_found(),
            }
        }
        ("/api/apps/v2" | "/api/meta-sites/v1", [] | [_]) => not_allowed("GET"),
        ("/api/user-groups/v1", []) => not_allowed("GET, POST"),
        ("/api/user-groups/v1", [_]) => not_allowed("GET, PATCH, DELETE"),
        ("/api/user-groups/v1", [_, "users"]) => not_allowed("GET"),
        ("/api/user-groups/v1", [_, "relationships", "users"]) => not_allowed("POST, DELETE"),
        _ => not_found(),
    }
}

/// One request's context.
pub(super) struct Cx<'r> {
    caller: &'r str,
    readings: Readings,
    request: &'r Request,
    /// See [`super::Options::page_cap`]: it holds for these lists too.
    page_cap: Option<usize>,
}

fn parse_entity(segment: &str) -> Option<Entity> {
    match segment {
        "app" => Some(Entity::App),
        "meta-site" => Some(Entity::MetaSite),
        _ => None,
    }
}

fn parse_principal(segment: &str) -> Option<Principal> {
    match segment {
        "user" => Some(Principal::User),
        "user-group" => Some(Principal::UserGroup),
        _ => None,
    }
}

fn not_found() -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "error.default",
        "Not Found",
        None,
        None,
    )
}

fn not_allowed(allow: &'static str) -> Reply {
    let mut reply = Reply::empty(StatusCode::METHOD_NOT_ALLOWED);
    reply.headers.push(("allow", allow.into()));
    reply
}

fn forbidden() -> Reply {
    error(
        StatusCode::FORBIDDEN,
        "error.forbidden",
        "Access denied.",
        None,
        None,
    )
}

fn does_not_exist(what: &str, id: &str) -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "error.not-found",
        &format!("{what} with id \"{id}\" does not exist"),
        None,
        None,
    )
}

/// The Meta Sites API's 404: one error object at the top level (as its spec's schema says),
/// repeated under `errors` for clients that read JSON:API errors.
fn meta_site_not_found(id: &str) -> Reply {
    let object = json!({
        "status": "404",
        "code": "meta-site.error.not-exists",
        "title": format!("Meta site with id \"{id}\" does not exist"),
    });
    let mut body = object.clone();
    body["errors"] = json!([object]);
    Reply::json(StatusCode::NOT_FOUND, MEDIA_TYPE, &body)
}

/// `offset` and `limit` as the lists take them: `limit` 0 to 1000, **10** when absent, and never
/// more than the `page-cap` reading allows.
fn paging(cx: &Cx) -> Result<(usize, usize), Reply> {
    let request = cx.request;
    let number = |name: &str, default: usize| {
        match request.query(name) {
        None => Ok(default),
        Some(text) => text.parse::<usize>().map_err(|_| {
            bad_request(
                "error.default",
                &format!(
                    "Invalid query parameter '{name}' - value should be a positive integer - got '{text}'"
                ),
            )
        }),
    }
    };
    let offset = number("offset", 0)?;
    let limit = number("limit", 10)?;
    if limit > MAX_PAGE {
        return Err(bad_request(
            "error.default",
            &format!("Limit parameter exceeded maximum \"{MAX_PAGE}\" value, \"{limit}\" given"),
        ));
    }
    Ok((offset, cx.page_cap.map_or(limit, |cap| limit.min(cap))))
}

/// The `sort` of a list, from the names it allows; the default when absent.
fn sorting<'a>(
    request: &'a Request,
    allowed: &[&str],
    default: &'a str,
) -> Result<(bool, &'a str), Reply> {
    let sort = request.query("sort").unwrap_or(default);
    let (descending, field) = sort.strip_prefix('-').map_or((false, sort), |f| (true, f));
    if !allowed.contains(&field) {
        return Err(bad_request(
            "error.default",
            &format!(
                "Invalid query parameter 'sort' - available options are [{}] - got '{sort}'",
                allowed.join(",")
            ),
        ));
    }
    Ok((descending, field))
}

/// One page of a list, with its total.
fn page(rows: Vec<Value>, offset: usize, limit: usize) -> Reply {
    let total = rows.len();
    let data: Vec<Value> = rows.into_iter().skip(offset).take(limit).collect();
    Reply::json(
        StatusCode::OK,
        MEDIA_TYPE,
        &json!({ "meta": { "total": total }, "data": data }),
    )
}

/// The sort key a list order gives a row.
type Key<T> = fn(&T) -> String;

/// Serves a list of `rows`: those `matches` keeps for `search`, in the order `sort` names (one
/// of `sorts`, else the default), ties by id, one page of them.
fn listing<T>(
    cx: &Cx,
    rows: &[T],
    matches: impl Fn(&T, &str) -> bool,
    (sorts, default): (&[(&str, Key<T>)], &str),
    id: fn(&T) -> &str,
    render: fn(&T) -> Value,
) -> Reply {
    let request = cx.request;
    let (offset, limit) = match paging(cx) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let names: Vec<&str> = sorts.iter().map(|(name, _)| *name).collect();
    let (descending, field) = match sorting(request, &names, default) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let key = sorts
        .iter()
        .find(|(name, _)| *name == field)
        .map_or(sorts[0].1, |(_, key)| *key);
    let search = searched(request);
    let mut kept: Vec<&T> = rows
        .iter()
        .filter(|row| search.as_ref().is_none_or(|s| matches(row, s)))
        .collect();
    kept.sort_by_cached_key(|row| (key(row), id(row).to_string()));
    if descending {
        kept.reverse();
    }
    page(kept.into_iter().map(render).collect(), offset, limit)
}

fn searched(request: &Request) -> Option<String> {
    request
        .query("search")
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
}

fn valid_uuid(id: &str) -> Result<(), Reply> {
    match uuid::Uuid::parse_str(id) {
        Ok(_) => Ok(()),
        Err(_) => Err(bad_request(
            "error.default",
            &format!("\"{id}\" is not a valid UUID."),
        )),
    }
}

/// Reads a JSON:API body whose `data` is one resource of `kind`. `media` lists the content
/// types the endpoint takes.
fn resource_body(
    request: &Request,
    media: &[&str],
    kind: &str,
) -> Result<serde_json::Map<String, Value>, Reply> {
    let content_type = request.header("content-type").unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !media.contains(&essence) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "error.default",
            &format!(
                "\"{content_type}\" is not a supported Content-Type, use \"{}\" instead",
                media.join("\" or \"")
            ),
            None,
            None,
        ));
    }
    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|_| bad_request("error.default", "Invalid jsonapi message received"))?;
    let data = resource_of(body, kind)?;
    match data.get("attributes") {
        Some(Value::Object(_)) => Ok(data),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "error.default",
            "Invalid form",
            Some("This value should be of type object."),
            Some("/data/attributes"),
        )),
    }
}

impl Inner {
    fn caller_is_owner(&self, caller: &str) -> bool {
        self.data
            .users
            .iter()
            .any(|u| u.email.eq_ignore_ascii_case(caller) && u.role == "OWNER")
    }

    /// The permission `principal` `to` holds directly on an entity.
    fn direct(&self, entity: Entity, on: &str, principal: Principal, to: &str) -> Permission {
        self.data
            .grants
            .iter()
            .find(|g| g.entity == entity && g.on == on && g.principal == principal && g.to == to)
            .map_or(Permission::NoAccess, |g| g.permission)
    }

    /// The highest permission a user's groups grant on an entity, and the groups granting it.
    fn inherited(&self, entity: Entity, on: &str, user: &str) -> (Permission, Vec<String>) {
        let mut best = Permission::NoAccess;
        let mut names = Vec::new();
        for group in self
            .data
            .groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == user))
        {
            let held = self.direct(entity, on, Principal::UserGroup, &group.id);
            if held == Permission::NoAccess || held < best {
                continue;
            }
            if held > best {
                best = held;
                names.clear();
            }
            names.push(group.name.clone());
        }
        (best, names)
    }

    fn entity_exists(&self, entity: Entity, id: &str) -> bool {
        match entity {
            Entity::App => self.data.apps.iter().any(|a| a.id == id),
            Entity::MetaSite => self.data.meta_sites.iter().any(|m| m.id == id),
        }
    }

    fn list_apps(&self, cx: &Cx) -> Reply {
        let sorts: &[(&str, Key<App>)] = &[
            ("name", |a| a.name.to_lowercase()),
            ("addedAt", |a| a.added_at.clone()),
            ("updatedAt", |a| a.updated_at.clone()),
        ];
        listing(
            cx,
            &self.data.apps,
            |a, s| a.name.to_lowercase().contains(s) || a.id.contains(s),
            (sorts, "-addedAt"),
            |a| &a.id,
            app_resource,
        )
    }

    fn one_app(&self, id: &str) -> Reply {
        match self.data.apps.iter().find(|a| a.id == id) {
            Some(app) => Reply::json(
                StatusCode::OK,
                MEDIA_TYPE,
                &json!({ "data": app_resource(app) }),
            ),
            None => does_not_exist("App", id),
        }
    }

    fn list_meta_sites(&self, cx: &Cx) -> Reply {
        let sorts: &[(&str, Key<MetaSite>)] = &[
            ("name", |m| m.name.to_lowercase()),
            ("created_at", |m| m.created_at.clone()),
            ("updated_at", |m| m.updated_at.clone()),
        ];
        listing(
            cx,
            &self.data.meta_sites,
            |m, s| m.name.to_lowercase().contains(s) || m.id.contains(s),
            (sorts, "name"),
            |m| &m.id,
            meta_site_resource,
        )
    }

    fn one_meta_site(&self, id: &str) -> Reply {
        if let Err(reply) = valid_uuid(id) {
            return reply;
        }
        match self.data.meta_sites.iter().find(|m| m.id == id) {
            Some(site) => Reply::json(
                StatusCode::OK,
                MEDIA_TYPE,
                &json!({ "data": meta_site_resource(site) }),
            ),
            None => meta_site_not_found(id),
        }
    }

    fn list_groups(&self, cx: &Cx) -> Reply {
        let sorts: &[(&str, Key<Group>)] = &[
            ("name", |g| g.name.to_lowercase()),
            ("created_at", |g| g.created_at.clone()),
            ("updated_at", |g| g.updated_at.clone()),
        ];
        listing(
            cx,
            &self.data.groups,
            |g, s| {
                g.name.to_lowercase().contains(s)
                    || g.id.contains(s)
                    || g.external_id
                        .as_ref()
                        .is_some_and(|e| e.to_lowercase().contains(s))
            },
            (sorts, "name"),
            |g| &g.id,
            group_resource,
        )
    }

    /// The User Groups API documents no 404: a group that does not exist is a bad request.
    fn find_group(&self, id: &str) -> Result<usize, Reply> {
        valid_uuid(id)?;
        self.data
            .groups
            .iter()
            .position(|g| g.id == id)
            .ok_or_else(|| {
                bad_request(
                    "user-groups.error.user-group-does-not-exist",
                    &format!("User group with id: {id} does not exist"),
                )
            })
    }

    fn one_group(&self, id: &str) -> Reply {
        match self.find_group(id) {
            Ok(i) => Reply::json(
                StatusCode::OK,
                MEDIA_TYPE,
                &json!({ "data": group_resource(&self.data.groups[i]) }),
            ),
            Err(reply) => reply,
        }
    }

    /// A group name as given: a string, unique among groups (case-insensitively) but for
    /// `except`.
    fn group_name(
        &self,
        cx: &Cx,
        value: Option<&Value>,
        except: Option<&str>,
    ) -> Result<String, Reply> {
        let name = match value {
            Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_string(),
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "error.default",
                    "Invalid form",
                    Some("This value should not be blank."),
                    Some("/data/attributes/name"),
                ));
            }
        };
        let taken = self
            .data
            .groups
            .iter()
            .any(|g| g.name.eq_ignore_ascii_case(&name) && Some(g.id.as_str()) != except);
        if taken {
            let status = if cx.readings.duplicate_group_conflict {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            return Err(error(
                status,
                "user-groups.error.name-already-exists",
                "Invalid form",
                Some(&format!("User group with name \"{name}\" already exists.")),
                Some("/data/attributes/name"),
            ));
        }
        Ok(name)
    }

    fn external_id(value: Option<&Value>) -> Result<Option<String>, Reply> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(id)) => Ok(Some(id.clone())),
            Some(_) => Err(error(
                StatusCode::BAD_REQUEST,
                "error.default",
                "Invalid form",
                Some("This value should be of type string."),
                Some("/data/attributes/external_id"),
            )),
        }
    }

    fn create_group(&mut self, cx: &Cx) -> Reply {
        if !self.caller_is_owner(cx.caller) {
            return forbidden();
        }
        let media: &[&str] = if cx.readings.group_json_api_accepted {
            &["application/json", MEDIA_TYPE]
        } else {
            &["application/json"]
        };
        let data = match resource_body(cx.request, media, USER_GROUP_TYPE) {
            Ok(data) => data,
            Err(reply) => return reply,
        };
        let name = match self.group_name(cx, attribute(&data, "name"), None) {
            Ok(name) => name,
            Err(reply) => return reply,
        };
        let external_id = match Self::external_id(attribute(&data, "external_id")) {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        self.clock += 1;
        let now = timestamp(now_unix().max(self.clock));
        let group = Group {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            external_id,
            provisioned: false,
            members: Vec::new(),
            created_at: now.clone(),
            updated_at: now,
        };
        let body = json!({ "data": group_resource(&group) });
        self.data.groups.push(group);
        Reply::json(StatusCode::CREATED, MEDIA_TYPE, &body).committed()
    }

    fn edit_group(&mut self, cx: &Cx, id: &str) -> Reply {
        if !self.caller_is_owner(cx.caller) {
            return forbidden();
        }
        let index = match self.find_group(id) {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        let data = match resource_body(cx.request, &[MEDIA_TYPE], USER_GROUP_TYPE) {
            Ok(data) => data,
            Err(reply) => return reply,
        };
        match data.get("id") {
            Some(Value::String(body_id)) if body_id == id => {}
            None => {
                return bad_request(
                    "error.json-api-resource-id-not-provided",
                    "Resource id not provided",
                );
            }
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "error.default",
                    "Invalid form",
                    Some("The resource object's id does not match url's lookup id"),
                    Some("/data/id"),
                );
            }
        }
        let name = match attribute(&data, "name") {
            None => None,
            value => match self.group_name(cx, value, Some(id)) {
                Ok(name) => Some(name),
                Err(reply) => return reply,
            },
        };
        let external_id = match attribute(&data, "external_id") {
            None => None,
            value => match Self::external_id(value) {
                Ok(id) => Some(id),
                Err(reply) => return reply,
            },
        };
        self.clock += 1;
        let now = timestamp(now_unix().max(self.clock));
        let group = &mut self.data.groups[index];
        if let Some(name) = name {
            group.name = name;
        }
        if let Some(external_id) = external_id {
            group.external_id = external_id;
        }
        group.updated_at = now;
        Reply::empty(StatusCode::NO_CONTENT).committed()
    }

    fn delete_group(&mut self, cx: &Cx, id: &str) -> Reply {
        if !self.caller_is_owner(cx.caller) {
            return forbidden();
        }
        let index = match self.find_group(id) {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        // What the group granted goes with it.
        self.data
            .grants
            .retain(|g| !(g.principal == Principal::UserGroup && g.to == id));
        self.data.groups.remove(index);
        Reply::empty(StatusCode::NO_CONTENT).committed()
    }

    fn list_members(&self, cx: &Cx, id: &str) -> Reply {
        let index = match self.find_group(id) {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        let (offset, limit) = match paging(cx) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        let (descending, _) = match sorting(cx.request, &["email"], "email") {
            Ok(s) => s,
            Err(reply) => return reply,
        };
        let search = searched(cx.request);
        let group = &self.data.groups[index];
        let mut members: Vec<&User> = self
            .data
            .users
            .iter()
            .filter(|u| group.members.contains(&u.id))
            .filter(|u| {
                search
                    .as_ref()
                    .is_none_or(|s| u.email.to_lowercase().contains(s) || u.id.contains(s.as_str()))
            })
            .collect();
        members
            .sort_by(|a, b| (a.email.to_lowercase(), &a.id).cmp(&(b.email.to_lowercase(), &b.id)));
        if descending {
            members.reverse();
        }
        let rows = members
            .into_iter()
            .map(|u| json!({ "id": u.id, "type": USER_TYPE, "attributes": { "email": u.email } }))
            .collect();
        page(rows, offset, limit)
    }

    fn change_members(&mut self, cx: &Cx, id: &str, add: bool) -> Reply {
        if !self.caller_is_owner(cx.caller) {
            return forbidden();
        }
        let index = match self.find_group(id) {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        if self.data.groups[index].provisioned {
            return error(
                StatusCode::FORBIDDEN,
                "user-groups.error.managed-by-identity-provider",
                "The members of this group are managed by your identity provider.",
                None,
                None,
            );
        }
        let body = match json_api_document(cx.request) {
            Ok(body) => body,
            Err(reply) => return reply,
        };
        let invalid = || bad_request("error.default", "Invalid jsonapi message received");
        let Some(Value::Array(items)) = body.get("data") else {
            return invalid();
        };
        let mut ids = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let pointer = format!("/data/{i}");
            if item.get("type").and_then(Value::as_str) != Some(USER_TYPE) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "error.json-api-resource-type",
                    &format!("Invalid resource type, expected \"{USER_TYPE}\""),
                    None,
                    Some(&format!("{pointer}/type")),
                );
            }
            let Some(user) = item.get("id").and_then(Value::as_str) else {
                return bad_request(
                    "error.json-api-resource-id-not-provided",
                    "Resource id not provided",
                );
            };
            if !self.data.users.iter().any(|u| u.id == user) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "users.error.user-does-not-exist",
                    &format!("User with id: {user} does not exist"),
                    None,
                    Some(&format!("{pointer}/id")),
                );
            }
            ids.push(user.to_string());
        }
        let group = &mut self.data.groups[index];
        if cx.readings.members_strict {
            let repeated = |i: usize| ids[..i].contains(&ids[i]);
            let wrong = (0..ids.len())
                .find(|&i| group.members.contains(&ids[i]) == add || repeated(i))
                .map(|i| &ids[i]);
            if let Some(user) = wrong {
                let detail = if add {
                    format!("User {user} is already a member of the group.")
                } else {
                    format!("User {user} is not a member of the group.")
                };
                return error(
                    StatusCode::BAD_REQUEST,
                    "error.default",
                    "Invalid form",
                    Some(&detail),
                    Some("/data"),
                );
            }
        }
        for user in ids {
            let at = group.members.iter().position(|m| *m == user);
            match (add, at) {
                (true, None) => group.members.push(user),
                (false, Some(i)) => {
                    group.members.remove(i);
                }
                _ => {}
            }
        }
        Reply::empty(StatusCode::NO_CONTENT).committed()
    }

    fn list_permissions(&self, cx: &Cx, entity: Entity, on: &str, principal: Principal) -> Reply {
        if let Err(reply) = valid_uuid(on) {
            return reply;
        }
        if !self.entity_exists(entity, on) {
            return does_not_exist(
                match entity {
                    Entity::App => "App",
                    Entity::MetaSite => "Meta site",
                },
                on,
            );
        }
        let (offset, limit) = match paging(cx) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        let search = searched(cx.request);
        let kind = format!("{}/permission/{}", entity.segment(), principal.segment());
        let rows: Vec<Value> = match principal {
            Principal::User => {
                let mut users: Vec<&User> = self
                    .data
                    .users
                    .iter()
                    .filter(|u| u.role != "OWNER")
                    .filter(|u| {
                        search
                            .as_ref()
                            .is_none_or(|s| u.email.to_lowercase().contains(s))
                    })
                    .collect();
                users.sort_by(|a, b| {
                    (a.email.to_lowercase(), &a.id).cmp(&(b.email.to_lowercase(), &b.id))
                });
                users
                    .into_iter()
                    .filter_map(|u| {
                        let direct = self.direct(entity, on, Principal::User, &u.id);
                        let (inherited, names) = self.inherited(entity, on, &u.id);
                        let none =
                            direct == Permission::NoAccess && inherited == Permission::NoAccess;
                        if none && !cx.readings.no_access_listed {
                            return None;
                        }
                        let group_permissions = match (
                            names.is_empty(),
                            cx.readings.group_permissions,
                        ) {
                            (true, GroupPermissionsShape::Null) => Value::Null,
                            (true, GroupPermissionsShape::EmptyList) => json!([]),
                            _ => json!({ "group_names": names, "permission": inherited.as_str() }),
                        };
                        Some(json!({
                            "id": u.id,
                            "type": kind,
                            "attributes": {
                                "email": u.email,
                                "permission": direct.as_str(),
                                "group_permissions": group_permissions,
                            },
                        }))
                    })
                    .collect()
            }
            Principal::UserGroup => {
                let (descending, _) = match sorting(cx.request, &["name"], "name") {
                    Ok(s) => s,
                    Err(reply) => return reply,
                };
                let mut groups: Vec<&Group> = self
                    .data
                    .groups
                    .iter()
                    .filter(|g| {
                        search
                            .as_ref()
                            .is_none_or(|s| g.name.to_lowercase().contains(s))
                    })
                    .collect();
                groups.sort_by(|a, b| {
                    (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id))
                });
                if descending {
                    groups.reverse();
                }
                groups
                    .into_iter()
                    .filter_map(|g| {
                        let held = self.direct(entity, on, Principal::UserGroup, &g.id);
                        if held == Permission::NoAccess && !cx.readings.no_access_listed {
                            return None;
                        }
                        Some(json!({
                            "id": g.id,
                            "type": kind,
                            "attributes": { "name": g.name, "permission": held.as_str() },
                        }))
                    })
                    .collect()
            }
        };
        page(rows, offset, limit)
    }

    fn set_permission(
        &mut self,
        cx: &Cx,
        entity: Entity,
        on: &str,
        principal: Principal,
        to: &str,
    ) -> Reply {
        for id in [on, to] {
            if let Err(reply) = valid_uuid(id) {
                return reply;
            }
        }
        let kind = format!("{}/permission/{}", entity.segment(), principal.segment());
        let data = match json_api_document(cx.request).and_then(|body| resource_of(body, &kind)) {
            Ok(data) => data,
            Err(reply) => return reply,
        };
        let allowed = entity.permissions();
        let asked = data
            .get("attributes")
            .and_then(|a| a.get("permission"))
            .and_then(Value::as_str);
        let Some(permission) = allowed.iter().copied().find(|p| Some(p.as_str()) == asked) else {
            let shown = asked.map_or_else(|| "null".to_string(), str::to_string);
            let names: Vec<&str> = allowed.iter().map(|p| p.as_str()).collect();
            return error(
                StatusCode::BAD_REQUEST,
                "error.default",
                "Invalid form",
                Some(&format!(
                    "Invalid permission \"{shown}\", available are: [{}]",
                    names.join(", ")
                )),
                Some("/data/attributes/permission"),
            );
        };
        // A set documents no 404: an unknown app or meta site is one the caller may not manage,
        // and an unknown user or group a bad request.
        if !self.entity_exists(entity, on) {
            return forbidden();
        }
        // Owners may set anything; others need `manage` on the app, and groups and meta-site
        // grants need an owner.
        let owner = self.caller_is_owner(cx.caller);
        let manages = entity == Entity::App && principal == Principal::User && {
            let caller = self.id_of(cx.caller).unwrap_or_default();
            let (inherited, _) = self.inherited(entity, on, &caller);
            self.direct(entity, on, Principal::User, &caller)
                .max(inherited)
                == Permission::Manage
        };
        if !owner && !manages {
            return forbidden();
        }
        match principal {
            Principal::User => match self.data.users.iter().find(|u| u.id == to) {
                None => {
                    return bad_request(
                        "users.error.user-does-not-exist",
                        &format!("User with id: {to} does not exist"),
                    );
                }
                Some(user) if user.role == "OWNER" => {
                    if cx.readings.owner_set_ignored {
                        return Reply::empty(StatusCode::NO_CONTENT);
                    }
                    return error(
                        StatusCode::BAD_REQUEST,
                        "access-control.error.owner-permission",
                        "Invalid form",
                        Some(
                            "An owner holds every permission; an owner's permissions cannot be changed.",
                        ),
                        None,
                    );
                }
                Some(_) => {}
            },
            Principal::UserGroup => {
                if !self.data.groups.iter().any(|g| g.id == to) {
                    return bad_request(
                        "user-groups.error.user-group-does-not-exist",
                        &format!("User group with id: {to} does not exist"),
                    );
                }
            }
        }
        self.data.grants.retain(|g| {
            !(g.entity == entity && g.on == on && g.principal == principal && g.to == to)
        });
        if permission != Permission::NoAccess {
            self.data.grants.push(Grant {
                entity,
                on: on.to_string(),
                principal,
                to: to.to_string(),
                permission,
            });
        }
        Reply::empty(StatusCode::NO_CONTENT).committed()
    }
}

fn app_resource(app: &App) -> Value {
    json!({
        "type": APP_TYPE,
        "id": app.id,
        "attributes": { "name": app.name, "addedAt": app.added_at, "updatedAt": app.updated_at },
    })
}

fn meta_site_resource(site: &MetaSite) -> Value {
    json!({
        "type": META_SITE_TYPE,
        "id": site.id,
        "attributes": { "name": site.name, "created_at": site.created_at, "updated_at": site.updated_at },
    })
}

fn group_resource(group: &Group) -> Value {
    json!({
        "type": USER_GROUP_TYPE,
        "id": group.id,
        "attributes": {
            "name": group.name,
            "external_id": group.external_id,
            "created_at": group.created_at,
            "updated_at": group.updated_at,
        },
    })
}
