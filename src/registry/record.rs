//! `<out>.import.toml`: where an import came from, the commit it is locked
//! to, the remote to fetch its data from again, and its files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::RegistryError;
use crate::config::RemoteConfig;
use crate::error::Error;
use crate::registry::safe_rel;

/// Lowercase hex of one of the `lens`.
fn is_hex(s: &str, lens: &[usize]) -> bool {
    lens.contains(&s.len()) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

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
    /// A plain Git file in the source (not data): it stays a plain Git
    /// file here, committed as it is, so every clone has it without a
    /// remote. Recorded so that `update` notices when a file changes kind.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plain: bool,
}

/// The record file of output `out`.
pub fn path_for(out: &Path) -> std::path::PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".import.toml");
    out.with_file_name(name)
}

impl ImportRecord {
    /// Reads a record (see [`ImportRecord::parse`]).
    pub fn load(path: &Path) -> Result<ImportRecord, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read the import record", path.display(), e))?;
        ImportRecord::parse(&text, path)
    }

    /// Parses a record, the one way a record enters: it is a committed
    /// file, so whoever wrote the repository wrote it. Every field that
    /// later becomes a path, a request to a source or remote, or a slice is
    /// checked here; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<ImportRecord, Error> {
        let rec: ImportRecord = toml::from_str(text).map_err(|e| {
            Error::from(RegistryError::InvalidRecord {
                path: origin.display().to_string(),
                message: e.message().to_string(),
            })
        })?;
        rec.check().map_err(|what| {
            Error::from(RegistryError::BadRecord {
                what: what.clone(),
                path: origin.display().to_string(),
            })
        })?;
        Ok(rec)
    }

    /// What is wrong with the record, if anything.
    fn check(&self) -> Result<(), String> {
        let unsafe_path = |p: &str| format!("refusing unsafe path {p:?}");
        safe_rel(&self.path).map_err(|_| unsafe_path(&self.path))?;
        if !is_hex(&self.rev_lock, &[40, 64]) {
            return Err(format!("refusing an invalid rev_lock {:?}", self.rev_lock));
        }
        // "" is the output itself: only a single-file import has it.
        let single = self.files.len() == 1 && self.files.contains_key("");
        for (rel, f) in &self.files {
            if !single {
                safe_rel(rel).map_err(|_| unsafe_path(rel))?;
            }
            let oid_ok = f
                .oid
                .strip_prefix("sha256:")
                .is_some_and(|h| is_hex(h, &[64]));
            if !oid_ok {
                return Err(format!("refusing an invalid oid {:?}", f.oid));
            }
            if let Some(md5) = &f.md5 {
                if !is_hex(md5, &[32]) {
                    return Err(format!("refusing an invalid md5 {md5:?}"));
                }
            }
        }
        Ok(())
    }

    /// Writes it atomically.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let text = toml::to_string(self).map_err(|e| RegistryError::EncodeRecord(e.to_string()))?;
        crate::fsutil::write_atomic(path, text.as_bytes())
            .map_err(|e| Error::io("cannot write", path.display(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(files: &str) -> String {
        format!(
            "url = \"/r\"\npath = \"d\"\nrev_lock = \"{}\"\n{files}",
            "a".repeat(40)
        )
    }

    fn file(key: &str) -> String {
        format!(
            "[files.\"{key}\"]\noid = \"sha256:{}\"\nsize = 1\n",
            "b".repeat(64)
        )
    }

    #[test]
    fn a_record_is_checked_as_it_is_parsed() {
        let at = Path::new("d.import.toml");
        assert!(
            ImportRecord::parse(&text(&file("")), at).is_ok(),
            "single file"
        );
        assert!(ImportRecord::parse(&text(&(file("a") + &file("b/c"))), at).is_ok());
        for bad in ["", "../x", "/abs", "a/../../x", "a//b"] {
            let err = ImportRecord::parse(&text(&(file("a") + &file(bad))), at).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("refusing unsafe path {bad:?} in the import record (d.import.toml)")
            );
        }
        let err = ImportRecord::parse(&text("")[..].replace("\"a", "\"A"), at).unwrap_err();
        assert!(
            err.to_string().starts_with("refusing an invalid rev_lock"),
            "{err}"
        );
    }
}
