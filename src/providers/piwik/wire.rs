//! Piwik PRO Users API v2 bodies (JSON:API), shared by the client and the sandbox.

use serde::{Deserialize, Serialize};

/// The JSON:API media type every request and response body uses.
pub const MEDIA_TYPE: &str = "application/vnd.api+json";
/// The resource type of a user.
pub const USER_TYPE: &str = "ppms/user";
/// The largest page the list endpoint serves.
pub const MAX_PAGE: usize = 1000;

/// A user resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserResource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub attributes: UserAttributes,
}

/// A user's attributes as the API returns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAttributes {
    pub email: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(rename = "addedAt", default, skip_serializing_if = "Option::is_none")]
    pub added_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A user as a list page shows them, with only the fields rollcall keeps: the others are
/// skipped while the page is read, so reading a large account allocates nothing it drops.
#[derive(Debug, Deserialize)]
pub struct ListedUser {
    pub id: String,
    pub attributes: ListedAttributes,
}

#[derive(Debug, Deserialize)]
pub struct ListedAttributes {
    pub email: String,
    pub role: String,
    #[serde(default)]
    pub language: Option<String>,
}

/// One page of a list: `GET /api/users/v2`, and the lists of the access APIs.
#[derive(Debug, Serialize, Deserialize)]
pub struct Page<T> {
    pub meta: ListMeta,
    pub data: Vec<T>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ListMeta {
    pub total: u64,
}

/// A response holding one user.
#[derive(Debug, Serialize, Deserialize)]
pub struct UserDocument {
    pub data: UserResource,
}

/// `POST /auth/token` response.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token_type: String,
    pub expires_in: u64,
    pub access_token: String,
}

/// A JSON:API error body.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub errors: Vec<ErrorObject>,
}

/// One JSON:API error. `status` is a string, as the API sends it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorObject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl std::fmt::Display for ErrorObject {
    /// `users.error.user-already-exists: User with email: 'x' already exists. (at /email)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match (&self.title, &self.detail) {
            (Some(title), Some(detail)) if title != detail => format!("{title}: {detail}"),
            (_, Some(text)) | (Some(text), None) => text.clone(),
            (None, None) => "no details given".into(),
        };
        match &self.code {
            Some(code) => write!(f, "{code}: {text}")?,
            None => f.write_str(&text)?,
        }
        if let Some(pointer) = self.source.as_ref().and_then(|s| s.pointer.as_ref()) {
            write!(f, " (at {pointer})")?;
        }
        Ok(())
    }
}
