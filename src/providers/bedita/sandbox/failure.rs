//! Failures, rendered as BEdita's single `error` object.

use super::*;

/// An error answer, rendered as BEdita's `error` object.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) status: StatusCode,
    pub(super) title: String,
    pub(super) detail: Option<String>,
    pub(super) code: Option<&'static str>,
    /// The methods the path answers, for a 405.
    pub(super) allow: Option<&'static str>,
}

impl Failure {
    pub(super) fn new(status: StatusCode, title: impl Into<String>) -> Self {
        Failure {
            status,
            title: title.into(),
            detail: None,
            code: None,
            allow: None,
        }
    }

    pub(super) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// 400 "Invalid data", BEdita's answer to a body or query it cannot use.
pub(super) fn invalid(detail: impl Into<String>) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, "Invalid data").detail(detail)
}

pub(super) fn not_found(table: &str) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        format!("Record not found in table \"{table}\""),
    )
}

pub(super) fn unparsable() -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, "Error parsing request body")
}

pub(super) fn conflict(title: &str) -> Failure {
    Failure::new(StatusCode::CONFLICT, title)
}

pub(super) fn method_not_allowed(allow: &'static str) -> Failure {
    let mut failure = Failure::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    failure.allow = Some(allow);
    failure
}

/// One `[field.rule]: message` entry of a validation failure.
pub(super) fn rule(field: &str, rule: &str) -> String {
    let message = match rule {
        "_required" => "This field is required",
        "_empty" => "This field cannot be left empty",
        "unknown" => "The sandbox does not store this attribute",
        _ => "The provided value is invalid",
    };
    format!("[{field}.{rule}]: {message}")
}
