//! The append-only journal: one JSON object per line for every write rollcall makes.
//!
//! Entries name the run, the action, the request id, the method, the path and the outcome, with
//! the time (RFC 3339, UTC), the rollcall version, and the CI commit and run where the
//! environment names them. They never hold a request body, so no secret or password can reach
//! the file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// A handle to the journal file; clones share it.
#[derive(Clone)]
pub struct Journal {
    file: Arc<Mutex<File>>,
    run: Arc<str>,
    /// The CI commit and run, when the environment names them.
    ci: Option<Arc<Value>>,
}

impl Journal {
    /// Opens `path` for appending, creating it (and its directory) if needed.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            file: Arc::new(Mutex::new(file)),
            run: uuid::Uuid::new_v4().to_string().into(),
            ci: ci(&|name| std::env::var(name).ok()).map(Arc::new),
        })
    }

    /// Appends `entry` with the time and the run id. A journal that cannot be written is
    /// reported in the log; the apply goes on.
    pub fn write(&self, mut entry: Value) {
        if let Value::Object(map) = &mut entry {
            map.insert("time".into(), rfc3339(SystemTime::now()).into());
            map.insert("run".into(), self.run.as_ref().into());
            map.insert("rollcall".into(), env!("CARGO_PKG_VERSION").into());
            if let Some(ci) = &self.ci {
                map.insert("ci".into(), ci.as_ref().clone());
            }
        }
        let mut line = entry.to_string();
        line.push('\n');
        let written = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("journal lock poisoned"))
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(err) = written {
            tracing::error!("cannot write the journal: {err}");
        }
    }
}

/// The commit and run id a CI system names in the environment (GitHub Actions, GitLab CI), each
/// kept only if it looks like one.
fn ci(env: &dyn Fn(&str) -> Option<String>) -> Option<Value> {
    let plain = |v: String| {
        (!v.is_empty()
            && v.len() <= 64
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .then_some(v)
    };
    let first = |names: &[&str]| names.iter().find_map(|n| env(n).and_then(plain));
    let commit = first(&["GITHUB_SHA", "CI_COMMIT_SHA"]);
    let run = first(&["GITHUB_RUN_ID", "CI_PIPELINE_ID"]);
    if commit.is_none() && run.is_none() {
        return None;
    }
    let mut ci = serde_json::Map::new();
    if let Some(commit) = commit {
        ci.insert("commit".into(), commit.into());
    }
    if let Some(run) = run {
        ci.insert("run".into(), run.into());
    }
    Some(Value::Object(ci))
}

/// `time` as RFC 3339 in UTC, to the millisecond: `2026-12-01T12:00:00.123Z`.
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (year, month, day, secs) = crate::model::vocab::civil(since.as_secs());
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_rfc3339_in_utc() {
        let at = |secs: u64, ms: u64| {
            rfc3339(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_796_126_399, 999), "2026-12-01T11:59:59.999Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn ci_names_only_what_looks_like_a_commit_or_run() {
        let env = |name: &str| match name {
            "GITHUB_SHA" => Some("0123abcd".to_string()),
            "GITHUB_RUN_ID" => Some("42\n{\"x\":1}".to_string()),
            "CI_PIPELINE_ID" => Some("77".to_string()),
            _ => None,
        };
        assert_eq!(
            ci(&env),
            Some(serde_json::json!({ "commit": "0123abcd", "run": "77" }))
        );
        assert_eq!(ci(&|_| None), None);
    }
}
