//! Editing one config file in place, keeping its comments and layout
//! (`git dvc remote add|remove|set|default`).

use std::fs;
use std::path::{Path, PathBuf};

use super::load::read_optional;
use super::schema::*;

/// An editable config file, keeping the user's comments and layout.
pub struct ConfigEditor {
    path: PathBuf,
    doc: toml_edit::DocumentMut,
}

impl ConfigEditor {
    /// Opens (or starts) the file at `path`. A file of the wrong shape is
    /// refused here, as readers refuse it, so edits never meet a surprise.
    pub fn open(path: &Path) -> Result<ConfigEditor, ConfigError> {
        let text = read_optional(path)?.unwrap_or_default();
        parse_layer(&text, path)?;
        let doc = text
            .parse::<toml_edit::DocumentMut>()
            .map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                message: e.message().to_string(),
            })?;
        Ok(ConfigEditor {
            path: path.to_path_buf(),
            doc,
        })
    }

    /// The file being edited.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when `[remote.<name>]` exists in this file.
    pub fn has_remote(&self, name: &str) -> bool {
        self.doc.get("remote").and_then(|r| r.get(name)).is_some()
    }

    /// A key of the wrong kind met while editing; [`ConfigEditor::open`]
    /// refuses such files, so this is only a backstop.
    fn not_a_table(&self, key: String) -> ConfigError {
        ConfigError::WrongType {
            path: self.path.clone(),
            key,
            expected: "a table",
            found: "another value",
        }
    }

    /// Sets `[remote.<name>] <key> = value`.
    pub fn set_remote(
        &mut self,
        name: &str,
        key: &str,
        value: toml_edit::Value,
    ) -> Result<(), ConfigError> {
        let remotes = self.doc.entry("remote").or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        });
        let Some(remotes) = remotes.as_table_like_mut() else {
            return Err(self.not_a_table("remote".into()));
        };
        let remote = remotes
            .entry(name)
            .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
        let Some(remote) = remote.as_table_like_mut() else {
            return Err(self.not_a_table(format!("remote.{name}")));
        };
        remote.insert(key, toml_edit::value(value));
        Ok(())
    }

    /// Removes `[remote.<name>]`; true if it was there. Clears
    /// `core.remote` in the same file when it named this remote.
    pub fn remove_remote(&mut self, name: &str) -> bool {
        let removed = self
            .doc
            .get_mut("remote")
            .and_then(|r| r.as_table_like_mut())
            .and_then(|t| t.remove(name))
            .is_some();
        if self.default_remote().as_deref() == Some(name) {
            if let Some(core) = self.doc.get_mut("core").and_then(|c| c.as_table_like_mut()) {
                core.remove("remote");
            }
        }
        // Leave no empty [core] or [remote] header behind.
        for table in ["core", "remote"] {
            if self
                .doc
                .get(table)
                .and_then(|t| t.as_table_like())
                .is_some_and(toml_edit::TableLike::is_empty)
            {
                self.doc.remove(table);
            }
        }
        removed
    }

    /// `core.remote` in this file.
    pub fn default_remote(&self) -> Option<String> {
        self.doc
            .get("core")?
            .get("remote")?
            .as_str()
            .map(str::to_string)
    }

    /// Sets `core.remote`.
    pub fn set_default_remote(&mut self, name: &str) -> Result<(), ConfigError> {
        let core = self
            .doc
            .entry("core")
            .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
        let Some(core) = core.as_table_like_mut() else {
            return Err(self.not_a_table("core".into()));
        };
        core.insert("remote", toml_edit::value(name));
        Ok(())
    }

    /// Writes the file atomically (temp + rename).
    pub fn save(&self) -> Result<(), ConfigError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let io = |action, source| ConfigError::Io {
            action,
            path: self.path.clone(),
            source,
        };
        fs::create_dir_all(dir).map_err(|e| io("cannot create the directory of", e))?;
        crate::fsutil::write_atomic(&self.path, self.doc.to_string().as_bytes())
            .map_err(|e| io("cannot write", e))
    }
}
