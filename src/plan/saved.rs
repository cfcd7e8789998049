//! Saved plans: `plan --out FILE` records exactly what apply will do, bound to the files it came
//! from and to the live users it touches. `apply FILE` refuses a plan whose files were edited,
//! whose target differs, or whose users changed since, and otherwise does exactly that plan.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Plan, PlanOptions};
use crate::model::{DesiredState, LiveState};

/// What marks a JSON file as a saved rollcall plan.
pub const KIND: &str = "rollcall-saved-plan";
/// The version of the saved-plan format.
pub const FORMAT_VERSION: &str = "1";

/// A plan on disk. It holds no secret: credentials stay in the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub kind: String,
    pub format_version: String,
    pub target: SavedTarget,
    /// Each desired file as given on the command line, with the SHA-256 of its text.
    pub files: Vec<SavedFile>,
    /// The attributes of every live user the plan touches; a user to be created is recorded as
    /// absent (`None`).
    pub live: BTreeMap<String, Option<BTreeMap<String, String>>>,
    /// The id of every role the plan creates or deletes, as it was (`None`: no such role).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, Option<String>>,
    /// The `--allow-removals` the plan was made with, which also holds when it is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_removals: Option<usize>,
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedTarget {
    pub provider: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedFile {
    pub path: PathBuf,
    pub sha256: String,
}

impl SavedPlan {
    /// Records `plan`, made from `desired` against `live` with `options`.
    pub fn new(
        desired: &DesiredState,
        live: &LiveState,
        plan: &Plan,
        options: &PlanOptions,
    ) -> SavedPlan {
        let by_key: BTreeMap<&str, _> = live.users.iter().map(|u| (u.key.as_str(), u)).collect();
        let role_id = |name: &str| {
            live.roles
                .iter()
                .flatten()
                .find(|r| r.name == name)
                .map(|r| r.id.clone())
        };
        let roles = plan
            .actions
            .iter()
            .filter(|a| a.op.is_role())
            .map(|a| (a.user.clone(), role_id(&a.user)))
            .collect();
        let live = plan
            .actions
            .iter()
            .filter(|a| !a.op.is_role())
            .map(|a| {
                let fingerprint = by_key.get(a.user.as_str()).map(|u| u.fingerprint());
                (a.user.clone(), fingerprint)
            })
            .collect();
        SavedPlan {
            kind: KIND.into(),
            format_version: FORMAT_VERSION.into(),
            target: target_of(desired),
            files: desired
                .digests
                .iter()
                .map(|(path, sha256)| SavedFile {
                    path: path.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
            live,
            roles,
            allow_removals: options.allow_removals,
            plan: plan.clone(),
        }
    }

    /// Why this plan may not be applied to `desired` as it is now, if it may not.
    pub fn check_files(&self, desired: &DesiredState) -> Result<(), String> {
        let target = target_of(desired);
        if target != self.target {
            return Err(format!(
                "the plan is for {} {}, but the files now target {} {}",
                self.target.provider, self.target.url, target.provider, target.url
            ));
        }
        let now: BTreeMap<&PathBuf, &String> =
            desired.digests.iter().map(|(p, d)| (p, d)).collect();
        let edited: Vec<String> = self
            .files
            .iter()
            .filter(|f| now.get(&f.path) != Some(&&f.sha256))
            .map(|f| format!("`{}`", f.path.display()))
            .collect();
        if !edited.is_empty() || now.len() != self.files.len() {
            return Err(format!(
                "the files changed since the plan was made ({}); make a new plan",
                if edited.is_empty() {
                    "a file was added".to_string()
                } else {
                    edited.join(", ")
                }
            ));
        }
        Ok(())
    }

    /// Every touched user whose live attributes moved since the plan was made, with what moved.
    pub fn drift(&self, live: &LiveState) -> Vec<String> {
        let by_key: BTreeMap<&str, _> = live.users.iter().map(|u| (u.key.as_str(), u)).collect();
        let mut moved = Vec::new();
        for (user, then) in &self.live {
            let now = by_key.get(user.as_str()).map(|u| u.fingerprint());
            match (then, &now) {
                (None, None) => {}
                (None, Some(_)) => moved.push(format!(
                    "{user}: exists now, but did not when the plan was made"
                )),
                (Some(_), None) => moved.push(format!("{user}: no longer exists")),
                (Some(then), Some(now)) => {
                    let fields: Vec<String> = then
                        .keys()
                        .chain(now.keys())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .filter(|k| then.get(*k) != now.get(*k))
                        .map(|k| {
                            let show = |v: Option<&String>| {
                                v.map_or("(none)".to_string(), |v| format!("{v:?}"))
                            };
                            format!("{k} {} -> {}", show(then.get(k)), show(now.get(k)))
                        })
                        .collect();
                    if !fields.is_empty() {
                        moved.push(format!("{user}: {}", fields.join(", ")));
                    }
                }
            }
        }
        for (role, then) in &self.roles {
            let now = live
                .roles
                .iter()
                .flatten()
                .find(|r| &r.name == role)
                .map(|r| &r.id);
            if then.as_ref() != now {
                let show =
                    |id: Option<&String>| id.map_or("none".to_string(), |id| format!("{id:?}"));
                moved.push(format!(
                    "role {role}: id {} -> {}",
                    show(then.as_ref()),
                    show(now)
                ));
            }
        }
        moved
    }
}

fn target_of(desired: &DesiredState) -> SavedTarget {
    SavedTarget {
        provider: desired.target.provider.to_string(),
        url: desired.target.url.to_string(),
    }
}
