//! Publica.la integration API bodies. The API answers in two shapes (the list: flags as 0/1 and
//! ISO dates; create: booleans and date objects), so parsing is lenient where they differ.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// `{"CODE": "success", "data": ...}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(rename = "CODE")]
    pub code: Option<String>,
    pub data: T,
}

#[derive(Debug, Deserialize)]
pub struct PaginatorData {
    pub paginator: Paginator,
}

/// The plan list: a plain list, or the paginator the user list uses.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PlanList {
    Plain(Vec<PlanItem>),
    Paged { paginator: PlanPaginator },
}

/// A page of plans.
#[derive(Debug, Deserialize)]
pub struct PlanPaginator {
    pub data: Vec<PlanItem>,
    #[serde(default)]
    pub last_page: Option<u64>,
}

/// Laravel's paginator; only `current_page` and `data` are documented.
#[derive(Debug, Deserialize)]
pub struct Paginator {
    pub current_page: u64,
    pub data: Vec<ListUser>,
    #[serde(default)]
    pub last_page: Option<u64>,
    #[serde(default)]
    pub next_page_url: Option<String>,
    /// Users in the whole list, when the paginator says.
    #[serde(default)]
    pub total: Option<u64>,
}

/// A user in the list. `external_id` is usually missing.
#[derive(Debug, Deserialize)]
pub struct ListUser {
    pub id: u64,
    pub email: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub admin: bool,
    #[serde(default, deserialize_with = "flag")]
    pub plan_admin: bool,
    #[serde(default, deserialize_with = "flag")]
    pub only_sees_readable: bool,
    #[serde(default)]
    pub sessions_limit: Option<u32>,
    #[serde(default)]
    pub deleted_at: Option<serde_json::Value>,
    #[serde(default)]
    pub user_plans: Vec<UserPlan>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserPlan {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub valid_to: Option<String>,
}

/// A created user: only the id matters.
#[derive(Debug, Deserialize)]
pub struct Created {
    pub id: u64,
}

#[derive(Debug, Deserialize)]
pub struct PlanItem {
    pub id: u64,
    pub name: String,
}

/// Laravel's validation failure.
#[derive(Debug, Default, Deserialize)]
pub struct Invalid {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub errors: BTreeMap<String, Vec<String>>,
}

/// `true`/`false`, `1`/`0` or `"1"`/`"0"`.
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Number(n) => Ok(n.as_u64().unwrap_or(0) != 0),
        serde_json::Value::String(s) => Ok(s == "1" || s.eq_ignore_ascii_case("true")),
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_of_flags_parse() {
        let user: ListUser = serde_json::from_str(
            r#"{"id": 3, "email": "a@b.org", "admin": 1, "plan_admin": "0", "only_sees_readable": true, "deleted_at": null}"#,
        )
        .unwrap();
        assert!(user.admin && !user.plan_admin && user.only_sees_readable);
        assert!(user.user_plans.is_empty() && user.external_id.is_none());
    }
}
