//! The Git hooks git-dvc writes: post-checkout and post-merge (materialize
//! pointers whose objects are now cached), pre-commit (warn about pointers
//! about to be committed where no pattern tracks them) and pre-push (upload
//! first).
//!
//! A hook file is git-dvc's only if it carries the marker line of the
//! templates in `hooks/`; anything else is the user's and is never touched
//! without `--force`. A user hook that already calls `git dvc hook <name>`
//! counts as chained.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::repo::Repo;

/// The marker that identifies a hook written by git-dvc.
pub const MARKER: &str = "# git-dvc hook: written by `git dvc install`";

/// The hooks git-dvc writes, with their scripts.
pub const HOOKS: [(&str, &str); 4] = [
    ("post-checkout", include_str!("../hooks/post-checkout")),
    ("post-merge", include_str!("../hooks/post-merge")),
    ("pre-commit", include_str!("../hooks/pre-commit")),
    ("pre-push", include_str!("../hooks/pre-push")),
];

/// What happened to one hook.
#[derive(Debug, PartialEq, Eq)]
pub enum HookState {
    /// Written now.
    Written,
    /// Already git-dvc's current script.
    Current,
    /// A user hook that already calls git-dvc.
    Chained,
    /// A user hook left alone.
    Foreign(PathBuf),
}

fn chained(text: &str, name: &str) -> bool {
    text.lines()
        .any(|l| !l.trim_start().starts_with('#') && l.contains(&format!("git dvc hook {name}")))
}

/// Writes git-dvc's hooks into the repository's hooks directory.
pub fn install(repo: &Repo, force: bool) -> Result<Vec<(String, HookState)>, Error> {
    let dir = repo.hooks_dir();
    fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", dir.display(), e))?;
    let mut out = Vec::new();
    for (name, script) in HOOKS {
        let path = dir.join(name);
        let state = match fs::read_to_string(&path) {
            Ok(text) if text == script => HookState::Current,
            Ok(text) if text.contains(MARKER) || force || text.trim().is_empty() => {
                write_hook(&path, script)?;
                HookState::Written
            }
            Ok(text) if chained(&text, name) => HookState::Chained,
            Ok(_) => HookState::Foreign(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                write_hook(&path, script)?;
                HookState::Written
            }
            Err(_) if force => {
                write_hook(&path, script)?;
                HookState::Written
            }
            // Unreadable (binary, permissions): not ours, leave it.
            Err(_) => HookState::Foreign(path),
        };
        out.push((name.to_string(), state));
    }
    Ok(out)
}

/// Writes only the hooks that are missing: what the filter does in a
/// repository it runs in for the first time (after a global install, a
/// fresh clone gets its hooks with no extra command). Never touches an
/// existing file, and never fails the filter.
pub fn install_missing(repo: &Repo) {
    let dir = repo.hooks_dir();
    if HOOKS.iter().all(|(name, _)| dir.join(name).exists()) {
        return;
    }
    if fs::create_dir_all(&dir).is_err() {
        return;
    }
    for (name, script) in HOOKS {
        let path = dir.join(name);
        if let Ok(mut f) = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode_exec()
            .open(&path)
        {
            use std::io::Write;
            let _ = f.write_all(script.as_bytes());
        }
    }
}

trait ModeExec {
    fn mode_exec(&mut self) -> &mut Self;
}
impl ModeExec for fs::OpenOptions {
    fn mode_exec(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o755)
    }
}

/// Removes the hooks that are git-dvc's; returns user hooks that still call
/// git-dvc (chained), which the user must edit.
pub fn uninstall(repo: &Repo) -> Result<Vec<PathBuf>, Error> {
    let dir = repo.hooks_dir();
    let mut left = Vec::new();
    for (name, _) in HOOKS {
        let path = dir.join(name);
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        if text.contains(MARKER) {
            fs::remove_file(&path).map_err(|e| Error::io("cannot remove", path.display(), e))?;
        } else if chained(&text, name) {
            left.push(path);
        }
    }
    Ok(left)
}

fn write_hook(path: &Path, script: &str) -> Result<(), Error> {
    crate::fsutil::write_atomic(path, script.as_bytes())
        .map_err(|e| Error::io("cannot write", path.display(), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("cannot chmod", path.display(), e))
}
