//! The append-only journal: one JSON object per line for every write rollcall makes.
//!
//! Entries name the run, the action, the request id, the method, the path and the outcome. They
//! never hold a request body, so no secret or password can reach the file.

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
        })
    }

    /// Appends `entry` with the time and the run id. A journal that cannot be written is
    /// reported in the log; the apply goes on.
    pub fn write(&self, mut entry: Value) {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        if let Value::Object(map) = &mut entry {
            map.insert("time".into(), time.into());
            map.insert("run".into(), self.run.as_ref().into());
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
