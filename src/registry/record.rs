//! `<out>.import.toml`: where an import came from, the commit it is locked
//! to, the remote to fetch its data from again, and its files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::RemoteConfig;
use crate::error::Error;

/// The record of one import.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportRecord {
    /// The source repository URL or path.
    pub url: String,
    /// The path inside the source.
    pub path: String,
    /// The rev as the user gave it (only with `--rev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// The commit it resolved to.
    pub rev_lock: String,
    /// The source's remote at that commit: how a clone of this project
    /// gets the data with no remote of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteConfig>,
    /// The imported files (relative to the output; "" for a single file),
    /// with the sha256 and size of their content.
    #[serde(default)]
    pub files: BTreeMap<String, RecordFile>,
}

/// One imported file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordFile {
    /// `sha256:<hex>` of the content.
    pub oid: String,
    /// Bytes.
    pub size: u64,
    /// For a DVC source: the object's md5 there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

/// The record file of output `out`.
pub fn path_for(out: &Path) -> std::path::PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".import.toml");
    out.with_file_name(name)
}

impl ImportRecord {
    /// Reads a record.
    pub fn load(path: &Path) -> Result<ImportRecord, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read the import record", path.display(), e))?;
        toml::from_str(&text).map_err(|e| {
            Error::Other(format!(
                "invalid import record ({}): {}",
                path.display(),
                e.message()
            ))
        })
    }

    /// Writes it atomically.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let text = toml::to_string(self)
            .map_err(|e| Error::Other(format!("cannot write the import record: {e}")))?;
        crate::fsutil::write_atomic(path, text.as_bytes())
            .map_err(|e| Error::io("cannot write", path.display(), e))
    }
}
