//! Renderers: the same [`Plan`](crate::plan::Plan) as terraform-style text or versioned JSON.

pub mod human;
pub mod json;

/// Describes the account a plan is for, for headers.
#[derive(Debug, Clone)]
pub struct TargetInfo {
    pub provider: crate::desired::format::Provider,
    pub url: String,
}
