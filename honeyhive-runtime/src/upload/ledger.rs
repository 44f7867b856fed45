//! What an upload of a folder has delivered: `uploaded.jsonl` in the folder, one line per
//! request HoneyHive acknowledged, naming what it carried by stable keys (a run's id, a
//! session's id, a span's trace and span ids, an update's content). Written as soon as a
//! request is acknowledged, so an upload that is interrupted resumes where it stopped and a
//! second upload sends nothing twice.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The ledger's file in an uploaded folder.
pub const LEDGER_FILE: &str = "uploaded.jsonl";

/// One acknowledged request.
#[derive(Serialize, Deserialize)]
struct Line {
    /// Unix time in milliseconds.
    at_ms: u64,
    /// The keys of what it carried.
    acked: Vec<String>,
}

/// The keys acknowledged so far in one folder, and the file that records them.
pub(super) struct Ledger {
    path: PathBuf,
    acked: Mutex<HashSet<String>>,
    file: Mutex<Option<File>>,
}

impl Ledger {
    /// The ledger of `folder` (empty when there is none yet).
    pub(super) fn open(folder: &Path) -> Result<Ledger> {
        let path = folder.join(LEDGER_FILE);
        let mut acked = HashSet::new();
        match File::open(&path) {
            Ok(file) => {
                for line in BufReader::new(file).lines() {
                    let line = line.map_err(|e| io_error(&path, e))?;
                    // A line cut short by an interruption acknowledges nothing.
                    if let Ok(line) = serde_json::from_str::<Line>(&line) {
                        acked.extend(line.acked);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path, e)),
        }
        Ok(Ledger {
            path,
            acked: Mutex::new(acked),
            file: Mutex::new(None),
        })
    }

    /// Whether `key` was acknowledged.
    pub(super) fn has(&self, key: &str) -> bool {
        self.acked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
    }

    /// Records that HoneyHive acknowledged the request that carried `keys`.
    pub(super) fn record(&self, keys: Vec<String>) -> Result<()> {
        let mut text = serde_json::to_vec(&Line {
            at_ms: crate::export::local_store::now_ms(),
            acked: keys.clone(),
        })
        .map_err(|source| Error::Serialize {
            what: "an upload ledger line",
            source,
        })?;
        text.push(b'\n');
        {
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            if file.is_none() {
                let opened = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
                    .map_err(|e| io_error(&self.path, e))?;
                *file = Some(opened);
            }
            let file = file.as_mut().expect("opened above");
            // One write per line: a crash leaves at worst a cut last line, read as nothing.
            file.write_all(&text)
                .and_then(|()| file.sync_data())
                .map_err(|e| io_error(&self.path, e))?;
        }
        self.acked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(keys);
        Ok(())
    }
}

/// The key of the content `text` (an update, whose id is not unique to it).
pub(super) fn content_key(kind: &str, text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{hex}")
}

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::LocalStore {
        path: path.to_owned(),
        source,
    }
}
