//! How the simulator reads requests and answers errors: JSON:API bodies, languages, roles,
//! passwords, and the service's error documents.

use super::*;

/// A JSON:API error reply.
pub(super) fn error(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: Option<&str>,
    pointer: Option<&str>,
) -> Reply {
    let mut object = json!({ "status": status.as_u16().to_string(), "code": code, "title": title });
    if let Some(detail) = detail {
        object["detail"] = detail.into();
    }
    if let Some(pointer) = pointer {
        object["source"] = json!({ "pointer": pointer });
    }
    Reply::json(status, MEDIA_TYPE, &json!({ "errors": [object] }))
}

pub(super) fn bad_request(code: &str, title: &str) -> Reply {
    error(StatusCode::BAD_REQUEST, code, title, None, None)
}

pub(super) fn unauthorized() -> Reply {
    Reply::json(
        StatusCode::UNAUTHORIZED,
        "application/json",
        &json!({ "message": "Unauthorized" }),
    )
}

/// A user as the service shows it, written from the sandbox's own record (never from the
/// client's wire types, so the two can disagree).
pub(super) fn resource(user: &User, organization: &str) -> Value {
    json!({
        "id": user.id,
        "type": USER_TYPE,
        "attributes": {
            "email": user.email,
            "role": user.role,
            "organization": organization,
            "addedAt": user.added_at,
            "language": user.language,
        },
    })
}

pub(super) fn malformed_language() -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        "users.error.unsupported-language-tag",
        "Invalid form",
        Some("Invalid language - use IETF language tag format - for example: 'en-US'"),
        Some("/language"),
    )
}

/// Checks a language the way the service does; `Err` is the error reply.
pub(super) fn check_language(language: &str, bare_refused: bool) -> Result<(), Reply> {
    let invalid = |code: &str, detail: String| {
        Err(error(
            StatusCode::BAD_REQUEST,
            code,
            "Invalid form",
            Some(&detail),
            Some("/language"),
        ))
    };
    let Some(tag) = LanguageTag::parse(language).filter(|_| !language.contains('_')) else {
        return Err(malformed_language());
    };
    if bare_refused && tag.region().is_none() {
        return Err(malformed_language());
    }
    if !PIWIK_LANGUAGES.contains(&tag.primary()) {
        return invalid(
            "users.error.unsupported-language",
            format!(
                "Language \"{}\" is not supported (supported are {})",
                tag.primary(),
                PIWIK_LANGUAGES.join(", ")
            ),
        );
    }
    if let Some(region) = tag.region()
        && ISO_3166_ALPHA2.binary_search(&region).is_err()
    {
        return invalid(
            "users.error.unsupported-language",
            format!("Region code '{region}' is not supported - use valid ISO 3166-1 alpha-2 code"),
        );
    }
    Ok(())
}

/// The methods a path answers, for `Allow` on a 405.
pub(super) fn allowed(segments: &[&str]) -> &'static str {
    match segments {
        [] => "GET, POST",
        ["invite"] => "POST",
        ["me"] => "GET, PATCH",
        ["me", "details"] => "GET",
        ["me", "change-password"] | [_, "change-role"] => "PATCH",
        _ => "GET, PATCH, DELETE",
    }
}

pub(super) fn invalid_role(value: &Value) -> Reply {
    let shown = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string);
    error(
        StatusCode::BAD_REQUEST,
        "users.error.invalid-role",
        "Invalid form",
        Some(&format!(
            "Role \"{shown}\" is not supported (supported are OWNER, USER)"
        )),
        Some("/role"),
    )
}

/// The password policy: 12 to 128 characters with a digit, an upper- and a lower-case letter.
pub(super) fn check_password(value: Option<&Value>, pointer: &str) -> Result<(), Reply> {
    let ok = match value {
        Some(Value::String(p)) => {
            (12..=128).contains(&p.chars().count())
                && p.chars().any(|c| c.is_ascii_digit())
                && p.chars().any(char::is_uppercase)
                && p.chars().any(char::is_lowercase)
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(error(
        StatusCode::BAD_REQUEST,
        "error.default",
        "Invalid form",
        Some(
            "Password must be 12 to 128 characters long and contain a digit, an upper-case and a lower-case letter.",
        ),
        Some(pointer),
    ))
}

/// The JSON document of a request that must be `application/vnd.api+json`.
pub(super) fn json_api_document(request: &Request) -> Result<Value, Reply> {
    let content_type = request.header("content-type").unwrap_or("");
    if content_type != MEDIA_TYPE {
        return Err(bad_request(
            "error.json-api-content-type",
            &format!(
                "\"{content_type}\" is not a valid JsonApi Content-Type header, use \"{MEDIA_TYPE}\" instead"
            ),
        ));
    }
    serde_json::from_slice(&request.body)
        .map_err(|_| bad_request("error.default", "Invalid jsonapi message received"))
}

/// The `data` of a document holding one resource of `kind`: the envelope and the type checked.
pub(super) fn resource_of(
    body: Value,
    kind: &str,
) -> Result<serde_json::Map<String, Value>, Reply> {
    let Some(Value::Object(data)) = body.get("data") else {
        return Err(bad_request(
            "error.default",
            "Invalid jsonapi message received",
        ));
    };
    match data.get("type") {
        Some(Value::String(t)) if t == kind => Ok(data.clone()),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "error.json-api-resource-type",
            &format!("Invalid resource type, expected \"{kind}\""),
            None,
            Some("/data/type"),
        )),
    }
}

/// Reads a JSON:API body: media type, envelope and resource type. Returns `data`.
pub(super) fn json_api_body(request: &Request) -> Result<serde_json::Map<String, Value>, Reply> {
    let data = resource_of(json_api_document(request)?, USER_TYPE)?;
    match data.get("attributes") {
        None | Some(Value::Object(_)) => {}
        Some(other) => {
            let kind = match other {
                Value::Number(n) if n.is_i64() || n.is_u64() => "int",
                Value::Number(_) => "float",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Bool(_) => "bool",
                _ => "null",
            };
            return Err(bad_request(
                "error.default",
                &format!("Invalid field 'attributes' - value should be an object - got '{kind}'"),
            ));
        }
    }
    Ok(data)
}

pub(super) fn attribute<'a>(
    data: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Option<&'a Value> {
    data.get("attributes").and_then(|a| a.get(name))
}

pub(super) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
