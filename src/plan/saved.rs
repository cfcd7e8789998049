//! Saved plans: `plan --out FILE` records exactly what apply will do, bound to the files it came
//! from and to the live users it touches. `apply FILE` refuses a plan whose files were edited,
//! whose target differs, or whose users changed since, and otherwise does exactly that plan.
//!
//! A saved plan is a record of what was reviewed, never a program: apply plans again from the
//! same files, the same options and the live account, and proceeds only when that plan's actions
//! are the saved ones, to the letter. An edited file therefore runs nothing it does not show, and
//! the guards see what will really happen.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Action, Plan, PlanOptions};
use crate::model::{DesiredState, LiveState};

/// The largest saved plan read: far beyond a plan for every user an account can have.
pub const MAX_BYTES: u64 = 64 << 20;
/// What marks a JSON file as a saved rollcall plan.
pub const KIND: &str = "rollcall-saved-plan";
/// The version of the saved-plan format.
pub const FORMAT_VERSION: &str = "2";

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
    /// The `--target-user` patterns the plan was made with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_users: Vec<String>,
    /// The `--exclude-user` patterns the plan was made with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_users: Vec<String>,
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
        let by_id: BTreeMap<&str, _> = live.users.iter().map(|u| (u.id.as_str(), u)).collect();
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
            .filter(|a| a.op.is_user())
            .map(|a| {
                // A user is bound by the live key it has, however it was found: by identity, or
                // by an email, current or former.
                let found = a
                    .live_id
                    .as_deref()
                    .and_then(|id| by_id.get(id))
                    .or_else(|| by_key.get(a.user.as_str()));
                match found {
                    Some(u) => (u.key.clone(), Some(u.fingerprint())),
                    None => (a.user.clone(), None),
                }
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
            target_users: options.target_users.clone(),
            exclude_users: options.exclude_users.clone(),
            plan: plan.clone(),
        }
    }

    /// The options the plan was made with, to plan again with when it is applied.
    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            allow_removals: self.allow_removals,
            target_users: self.target_users.clone(),
            exclude_users: self.exclude_users.clone(),
            fail_on_unmanaged: false,
        }
    }

    /// Whether `path` holds a saved plan rather than desired state, judged by its content (a
    /// JSON object that names its `kind`), whatever its name.
    pub fn recognise(path: &Path) -> bool {
        let mut head = Vec::new();
        let read = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
        if read.is_err() {
            return false;
        }
        let text = String::from_utf8_lossy(&head);
        let text = text.trim_start_matches('\u{feff}').trim_start();
        text.starts_with('{') && text.contains("\"kind\"")
    }

    /// Reads and checks the saved plan at `path`, bounded in size, with the checksum of its
    /// text; the error says why it is refused.
    pub fn read(path: &Path) -> Result<(SavedPlan, String), String> {
        let too_large = || {
            format!(
                "it is larger than {} MiB, more than any plan rollcall saves",
                MAX_BYTES >> 20
            )
        };
        if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_BYTES) {
            return Err(too_large());
        }
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_BYTES + 1).read_to_string(&mut text))
            .map_err(|e| format!("it cannot be read: {e}"))?;
        if text.len() as u64 > MAX_BYTES {
            return Err(too_large());
        }
        let checksum = crate::desired::load::sha256(text.as_bytes());
        Ok((SavedPlan::parse(&text)?, checksum))
    }

    /// The live users as the plan recorded them, for showing it without the account: those the
    /// plan touches, with the attributes they had.
    pub fn recorded_live(&self) -> LiveState {
        let users = self
            .live
            .iter()
            .filter_map(|(key, attributes)| {
                let attributes = attributes.as_ref()?;
                let get = |name: &str| attributes.get(name).cloned();
                Some(crate::model::LiveUser {
                    id: get("id").unwrap_or_default(),
                    key: key.clone(),
                    spelling: None,
                    blocked: false,
                    email: get("email"),
                    state: get("state")
                        .and_then(|s| crate::model::vocab::State::parse(&s))
                        .unwrap_or(crate::model::vocab::State::Active),
                    attributes: crate::model::ATTRIBUTES
                        .iter()
                        .filter_map(|&name| Some((name, get(name)?)))
                        .collect(),
                    roles: get("roles")
                        .iter()
                        .flat_map(|r| r.split(','))
                        .filter(|r| !r.is_empty())
                        .map(str::to_string)
                        .collect(),
                })
            })
            .collect();
        LiveState::new(users, None)
    }

    /// Reads a saved plan from `text`, refusing anything that is not one made by this format:
    /// another kind or version, action ids out of place, or a dependency that is not on an
    /// earlier action (which also rules out cycles).
    pub fn parse(text: &str) -> Result<SavedPlan, String> {
        let saved: SavedPlan = serde_json::from_str(text)
            .ok()
            .filter(|s: &SavedPlan| s.kind == KIND)
            .ok_or("it is not a plan saved by `rollcall plan --out`")?;
        if saved.format_version != FORMAT_VERSION {
            return Err(format!(
                "it was saved in plan format {}; this rollcall reads format {FORMAT_VERSION}",
                saved.format_version
            ));
        }
        let url = &saved.target.url;
        if crate::model::vocab::Provider::parse(&saved.target.provider).is_none()
            || (url != "sandbox" && crate::model::vocab::parse_target_url(url).is_err())
        {
            return Err(
                "its target is not one rollcall writes; the file was not written by rollcall"
                    .into(),
            );
        }
        for (index, action) in saved.plan.actions.iter().enumerate() {
            if action.id != index {
                return Err(format!(
                    "its action {index} is numbered {}; the file was not written by rollcall",
                    action.id
                ));
            }
            if let Some(bad) = action.depends_on.iter().find(|&&d| d >= index) {
                return Err(format!(
                    "its action {index} depends on action {bad}, which does not come before it; the file was not written by rollcall"
                ));
            }
        }
        Ok(saved)
    }

    /// Checks each recorded file's digest against the file on disk, before anything of them is
    /// read for display: a plan naming files it was not made from shows nothing of them.
    pub fn check_digests(&self) -> Result<(), String> {
        let edited: Vec<String> = self
            .files
            .iter()
            .filter(|f| crate::desired::load::file_digest(&f.path).as_ref() != Some(&f.sha256))
            .map(|f| format!("`{}`", f.path.display()))
            .collect();
        if edited.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the files changed since the plan was made ({}); make a new plan",
                edited.join(", ")
            ))
        }
    }

    /// How the saved actions differ from `fresh`, those planned now from the same files,
    /// options and account: one line per difference, none when they are identical.
    pub fn differences(&self, fresh: &Plan) -> Vec<String> {
        let mut lines = self.action_differences(&fresh.actions);
        // The same steps may reach other people now (someone joined a group since the review).
        let effect = |e: &super::access::AccessEffect| {
            format!(
                "the access of {} on {} {:?} ({} -> {})",
                super::display_key(&e.user),
                e.on.entity.noun(),
                e.on.name,
                e.before,
                e.after
            )
        };
        let (saved, now) = (&self.plan.access_effects, &fresh.access_effects);
        for e in now.iter().filter(|e| !saved.contains(e)) {
            lines.push(format!(
                "{}: changed by the plan now, but not shown in the saved plan",
                effect(e)
            ));
        }
        for e in saved.iter().filter(|e| !now.contains(e)) {
            lines.push(format!(
                "{}: shown in the saved plan, but not what the plan does now",
                effect(e)
            ));
        }
        lines
    }

    fn action_differences(&self, fresh: &[Action]) -> Vec<String> {
        let saved = &self.plan.actions;
        if saved.as_slice() == fresh {
            return Vec::new();
        }
        let label = |a: &Action| format!("{} {:?}", a.op.name(), a.subject());
        let mut lines = Vec::new();
        for action in saved {
            if fresh.contains(action) {
                continue;
            }
            match fresh
                .iter()
                .find(|f| f.op == action.op && f.user == action.user)
            {
                Some(now) => lines.push(format!(
                    "{}: the saved plan has {}, the files and the account now give {}",
                    label(action),
                    show(action),
                    show(now)
                )),
                None => lines.push(format!(
                    "{}: in the saved plan, but not in the plan the files and the account give now",
                    label(action)
                )),
            }
        }
        for action in fresh {
            if !saved
                .iter()
                .any(|s| s.op == action.op && s.user == action.user)
            {
                lines.push(format!(
                    "{}: planned now, but not in the saved plan",
                    label(action)
                ));
            }
        }
        if lines.is_empty() {
            lines.push("the same actions, in another order or with other dependencies".into());
        }
        lines
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
        for (key, then) in &self.live {
            let now = by_key.get(key.as_str()).map(|u| u.fingerprint());
            let user = super::display_key(key);
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

/// An action's particulars, for naming what differs.
fn show(action: &Action) -> String {
    let changes: Vec<String> = action
        .changes
        .iter()
        .map(|c| {
            let side =
                |v: &Option<String>| v.as_deref().map_or("(none)".into(), |v| format!("{v:?}"));
            format!("{} {} -> {}", c.attribute, side(&c.before), side(&c.after))
        })
        .collect();
    format!(
        "id {}, [{}]",
        action
            .live_id
            .as_deref()
            .map_or("(none)".into(), |id| format!("{id:?}")),
        changes.join(", ")
    )
}

fn target_of(desired: &DesiredState) -> SavedTarget {
    SavedTarget {
        provider: desired.target.provider.to_string(),
        url: desired.target.url.to_string(),
    }
}
