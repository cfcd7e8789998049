//! Reading requests: JSON:API documents, credentials, and the rules stored values follow.

use super::*;

/// The attributes a user resource shows that the sandbox does not store.
pub(super) const UNSTORED_ATTRIBUTES: &[&str] = &[
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

pub(super) const USER_FILTERS: &[&str] = &[
    "id", "username", "email", "status", "roles", "name", "surname", "lang", "uname",
];
pub(super) const USER_SORTS: &[&str] = &[
    "id", "username", "email", "name", "surname", "title", "status", "created", "modified",
];
pub(super) const ROLE_SORTS: &[&str] = &["id", "name", "priority", "created"];
pub(super) const TRASH_SORTS: &[&str] = &["id", "created", "modified"];

pub(super) fn title(user: &User) -> String {
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

pub(super) fn user_key(user: &User, field: &str) -> SortKey {
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

pub(super) fn same_text(stored: Option<&str>, wanted: &str) -> bool {
    stored.is_some_and(|s| s.to_lowercase() == wanted.to_lowercase())
}

/// Whether a user can log in: in place, not blocked, status `on`.
pub(super) fn can_log_in(user: &User) -> bool {
    !user.deleted && !user.blocked && user.status == "on"
}

/// A username may be an email; otherwise it may not hold `<>:/=` nor misplaced dots.
pub(super) fn valid_username(username: &str) -> bool {
    if Email::parse(username).is_ok() && username.trim() == username {
        return true;
    }
    !username.contains(['<', '>', ':', '/', '='])
        && !username.contains("..")
        && !username.starts_with('.')
        && !username.ends_with('.')
}

pub(super) fn valid_email(email: &str) -> bool {
    Email::parse(email).is_ok() && email.trim() == email
}

pub(super) fn bearer(request: &Request) -> Option<&str> {
    request
        .header("authorization")?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Reads a JSON:API document: exact media type, JSON, a top-level object with `data`.
pub(super) fn document(request: &Request) -> Result<Map<String, Value>, Failure> {
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
pub(super) fn resource_object<'d>(
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

pub(super) fn attributes(data: &Map<String, Value>) -> Result<Map<String, Value>, Failure> {
    match data.get("attributes") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(attributes)) => Ok(attributes.clone()),
        Some(_) => Err(invalid("\"attributes\" must be an object")),
    }
}

/// Refuses a client-generated id and relationships in a create body.
pub(super) fn check_new(data: &Map<String, Value>) -> Result<(), Failure> {
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
pub(super) fn check_id(data: &Map<String, Value>, key: &str, id: u64) -> Result<(), Failure> {
    match data.get("id") {
        Some(Value::String(given)) if given == key || *given == id.to_string() => Ok(()),
        _ => Err(conflict("IDs don't match")),
    }
}

/// The fields of a `POST /auth` body, JSON or form-encoded; only text values count.
pub(super) fn credentials(request: &Request) -> Result<HashMap<String, String>, Failure> {
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

pub(super) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Changes a user body asks for; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Default)]
pub(super) struct UserChanges {
    pub(super) username: Option<String>,
    pub(super) email: Option<Option<String>>,
    pub(super) name: Option<Option<String>>,
    pub(super) surname: Option<Option<String>>,
    pub(super) lang: Option<Option<String>>,
    pub(super) status: Option<String>,
    pub(super) password: Option<String>,
    pub(super) blocked: Option<bool>,
}

/// Changes a role body asks for.
#[derive(Debug, Default)]
pub(super) struct RoleChanges {
    pub(super) name: Option<String>,
    pub(super) description: Option<Option<String>>,
}

/// An optional text attribute, where an empty string is stored as null.
pub(super) fn optional_text(
    field: &str,
    value: &Value,
    errors: &mut Vec<String>,
) -> Option<Option<String>> {
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
