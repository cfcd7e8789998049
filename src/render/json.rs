//! The plan as JSON, for machines. `format_version` changes only when a field changes meaning.

use serde::Serialize;

use super::TargetInfo;
use crate::plan::access::AccessEffect;
use crate::plan::view::{Counts, View};
use crate::plan::{Action, Blocked, Op, Plan, UnmanagedUser, display_key};

/// How many live users in no file the JSON lists by name.
const UNMANAGED_LISTED: usize = 1000;

/// The version of the JSON plan format.
pub const FORMAT_VERSION: &str = "1";

#[derive(Serialize)]
struct Document<'a> {
    format_version: &'static str,
    target: Target<'a>,
    summary: Summary,
    /// Users and roles by what happens to them, and API actions: the counts every format shows.
    counts: Counts,
    /// Each user as the files name it: a user found by email is named by its email.
    actions: Vec<Action>,
    /// How many live users are in no file and left alone.
    unmanaged_ignored: usize,
    /// The first thousand of them, those who run the account first.
    unmanaged: &'a [UnmanagedUser],
    /// Whether they count as drift (`policy.unmanaged: report`, `--fail-on-unmanaged`).
    unmanaged_drift: bool,
    out_of_scope: usize,
    out_of_scope_removals: usize,
    protected: Vec<&'a str>,
    /// Users found by email because the account's list does not show them under the files'
    /// natural key (it hides it, or shows another).
    matched_by_email: &'a [String],
    /// Differences the provider offers no way to fix.
    unfixable: &'a [String],
    blocked: &'a [Blocked],
    /// Where access changes (Piwik PRO): each person's effective permission before and after.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    effective_access: &'a [AccessEffect],
    /// Whether the files' groups and permissions were left out of a narrowed run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    access_skipped: bool,
}

#[derive(Serialize)]
struct Target<'a> {
    provider: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Summary {
    create: usize,
    restore: usize,
    reactivate: usize,
    update: usize,
    promote: usize,
    grant: usize,
    demote: usize,
    revoke: usize,
    deactivate: usize,
    delete: usize,
    create_role: usize,
    update_role: usize,
    delete_role: usize,
    unchanged: usize,
}

/// Renders `plan` as pretty JSON with a trailing newline.
pub fn render(plan: &Plan, target: &TargetInfo) -> String {
    let document = Document {
        format_version: FORMAT_VERSION,
        target: Target {
            provider: target.provider.as_str(),
            url: &target.url,
        },
        summary: Summary {
            create: plan.count(Op::Create),
            restore: plan.count(Op::Restore),
            reactivate: plan.count(Op::Reactivate),
            update: plan.count(Op::Update),
            promote: plan.count(Op::Promote),
            grant: plan.count(Op::Grant),
            demote: plan.count(Op::Demote),
            revoke: plan.count(Op::Revoke),
            deactivate: plan.count(Op::Deactivate),
            delete: plan.count(Op::Delete),
            create_role: plan.count(Op::CreateRole),
            update_role: plan.count(Op::UpdateRole),
            delete_role: plan.count(Op::DeleteRole),
            unchanged: plan.unchanged,
        },
        counts: View::new(plan).counts,
        actions: plan
            .actions
            .iter()
            .map(|a| Action {
                user: display_key(&a.user).to_string(),
                ..a.clone()
            })
            .collect(),
        unmanaged_ignored: plan.unmanaged.len(),
        unmanaged: &plan.unmanaged[..plan.unmanaged.len().min(UNMANAGED_LISTED)],
        unmanaged_drift: plan.unmanaged_drift,
        out_of_scope: plan.out_of_scope,
        out_of_scope_removals: plan.out_of_scope_removals,
        protected: plan.protected.iter().map(|k| display_key(k)).collect(),
        matched_by_email: &plan.matched_by_email,
        unfixable: &plan.unfixable,
        blocked: &plan.blocked,
        effective_access: &plan.access_effects,
        access_skipped: plan.access_skipped,
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
