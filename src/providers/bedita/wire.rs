//! BEdita 5 bodies: JSON:API documents whose ids are strings, and a single `error` object.

use serde::Deserialize;

/// The only media type rollcall sends and accepts.
pub const MEDIA_TYPE: &str = "application/vnd.api+json";
/// The largest page BEdita serves by default.
pub const MAX_PAGE: usize = 100;

/// `POST /auth`: `{"meta": {"jwt": ..., "renew": ...}}`. No `Debug`: it holds tokens.
#[derive(Deserialize)]
pub struct AuthResponse {
    pub meta: AuthMeta,
}

#[derive(Deserialize)]
pub struct AuthMeta {
    pub jwt: String,
    #[serde(default)]
    pub renew: Option<String>,
}

/// A page of a list.
#[derive(Debug, Deserialize)]
pub struct ListDocument<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub meta: ListMeta,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListMeta {
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Deserialize)]
pub struct Pagination {
    pub page_count: u64,
    /// Entries in the whole list, when the server says.
    #[serde(default)]
    pub count: Option<u64>,
}

/// One resource.
#[derive(Debug, Deserialize)]
pub struct Document<T> {
    pub data: T,
}

/// A JSON:API resource. The id is a string; a number here means the server is not BEdita 5.
#[derive(Debug, Deserialize)]
pub struct Resource<A> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub attributes: A,
    #[serde(default)]
    pub meta: Option<ResourceMeta>,
    #[serde(default)]
    pub relationships: Option<Relationships>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResourceMeta {
    /// Roles: built in.
    #[serde(default)]
    pub unchangeable: Option<bool>,
    /// Users: blocked by an administrator.
    #[serde(default)]
    pub blocked: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Relationships {
    #[serde(default)]
    pub roles: Option<Relationship>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Relationship {
    /// Present when the roles were included.
    #[serde(default)]
    pub data: Option<Vec<Identifier>>,
}

#[derive(Debug, Deserialize)]
pub struct Identifier {
    pub id: String,
}

/// The user attributes rollcall reads; the rest are ignored.
#[derive(Debug, Deserialize)]
pub struct UserAttributes {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RoleAttributes {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// `{"error": {"status": "400", "title": ..., "detail": ..., "code": ...}, "links": ...}`.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ErrorObject {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

impl std::fmt::Display for ErrorObject {
    /// `be_token_expired: Expired token: detail`, leaving out what the server left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<&str> = [&self.code, &self.title, &self.detail]
            .into_iter()
            .filter_map(|p| p.as_deref().filter(|p| !p.is_empty()))
            .collect();
        f.write_str(&parts.join(": "))
    }
}
