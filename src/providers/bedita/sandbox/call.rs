//! Who a request comes from, the request being served, and the routes it may take.

use super::*;

/// Who a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Caller {
    /// Identified by the API key only.
    Anonymous,
    /// An application token, with no user.
    App,
    User(u64),
}

/// The state of the API key a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Missing,
    Invalid,
    Valid,
}

/// A request being served, with what every answer needs.
pub(super) struct Call<'a> {
    pub(super) request: &'a Request,
    /// `http://` and the Host header.
    pub(super) base: String,
    /// The media type answers are given in.
    pub(super) reply_type: &'static str,
    pub(super) caller: Caller,
    /// The most items a page holds, below BEdita's own limit (the `page-cap=N` reading).
    pub(super) page_cap: Option<usize>,
}

impl Call<'_> {
    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(super) fn home(&self) -> String {
        self.url("/home")
    }

    pub(super) fn with_query(&self, query: &[(String, String)]) -> String {
        let encoded = serde_urlencoded::to_string(query).unwrap_or_default();
        if encoded.is_empty() {
            self.url(&self.request.path)
        } else {
            format!("{}?{encoded}", self.url(&self.request.path))
        }
    }

    pub(super) fn self_url(&self) -> String {
        self.with_query(&self.request.query)
    }

    /// This request's URL on another page.
    pub(super) fn page_url(&self, page: usize) -> String {
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

    pub(super) fn links(&self) -> Value {
        json!({ "self": self.self_url(), "home": self.home() })
    }

    pub(super) fn reply(&self, status: StatusCode, body: &Value) -> Reply {
        Reply::json(status, self.reply_type, body)
    }

    pub(super) fn failure(&self, failure: Failure) -> Reply {
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

    pub(super) fn schema(&self, types: &[&str]) -> Value {
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
pub(super) enum Route<'a> {
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
    pub(super) fn parse(segments: &[&'a str]) -> Option<Self> {
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
    pub(super) fn allowed(self) -> &'static str {
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
pub(super) enum Change {
    Add,
    Remove,
    Replace,
}
