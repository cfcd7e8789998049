//! Renderers: the same [`Plan`](crate::plan::Plan) as terraform-style text, versioned JSON,
//! Markdown for a pull request, or a unified diff per user.

pub mod diff;
pub mod human;
pub mod json;
pub mod markdown;

/// Describes the account a plan is for, for headers.
#[derive(Debug, Clone)]
pub struct TargetInfo {
    pub provider: crate::model::vocab::Provider,
    pub url: String,
}
