//! Where things are in the repository Git runs us in, and how to run Git.
//!
//! Discovery goes through libgit2 (no process spawn: the filter starts on
//! every `git add`), which honours `GIT_DIR`, `GIT_WORK_TREE` and worktrees
//! the same way Git does. Anything that involves the worktree *through the
//! filter* (status, diff, refreshing the index) runs the real `git`, because
//! libgit2 cannot run a `filter.<driver>.process`.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::Error;

/// An open repository and its paths.
pub struct Repo {
    /// libgit2 handle, for reading objects, trees and the index.
    pub git: git2::Repository,
    /// `$GIT_DIR` (per worktree).
    pub git_dir: PathBuf,
    /// The directory shared by all worktrees: home of the cache and of the
    /// clone's config.
    pub common_dir: PathBuf,
    /// The worktree root, if not bare.
    pub workdir: Option<PathBuf>,
}

impl Repo {
    /// Finds the repository around the current directory (or `$GIT_DIR`).
    pub fn discover() -> Result<Repo, Error> {
        let git = git2::Repository::open_from_env().map_err(|_| Error::NotARepo)?;
        Ok(Repo::from_git2(git))
    }

    /// Opens the repository at `path`.
    pub fn open(path: &Path) -> Result<Repo, Error> {
        let git = git2::Repository::open(path).map_err(|_| Error::NotARepo)?;
        Ok(Repo::from_git2(git))
    }

    fn from_git2(git: git2::Repository) -> Repo {
        let git_dir = absolute(git.path());
        let common_dir = absolute(git.commondir());
        let workdir = git.workdir().map(absolute);
        Repo {
            git,
            git_dir,
            common_dir,
            workdir,
        }
    }

    /// The worktree root, or an error for a bare repository.
    pub fn workdir(&self) -> Result<&Path, Error> {
        self.workdir.as_deref().ok_or(Error::BareRepo)
    }

    /// `<common-dir>/dvc`: git-dvc's private state for this clone.
    pub fn dvc_dir(&self) -> PathBuf {
        self.common_dir.join("dvc")
    }

    /// The default cache location, shared by every worktree of the clone.
    pub fn default_cache_dir(&self) -> PathBuf {
        self.dvc_dir().join("cache")
    }

    /// The hooks directory Git will run hooks from (`core.hooksPath` aware).
    pub fn hooks_dir(&self) -> PathBuf {
        let configured = self
            .git
            .config()
            .ok()
            .and_then(|c| c.get_path("core.hooksPath").ok());
        match configured {
            Some(p) if p.is_absolute() => p,
            Some(p) => self.workdir.as_deref().unwrap_or(&self.common_dir).join(p),
            None => self.common_dir.join("hooks"),
        }
    }

    /// A `git` command running in the worktree (or git dir when bare).
    pub fn git_cmd(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.workdir.as_deref().unwrap_or(&self.git_dir))
            .env(crate::ui::WARNED_ENV, "1");
        cmd
    }

    /// Runs git with `args`, returning stdout; a failure is an error naming
    /// the command and carrying Git's own message.
    pub fn git_output<I, S>(&self, args: I) -> Result<Vec<u8>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_git(self.git_cmd(), args, None)
    }

    /// Runs git with `args` and `input` on stdin.
    pub fn git_with_input<I, S>(&self, args: I, input: &[u8]) -> Result<Vec<u8>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_git(self.git_cmd(), args, Some(input))
    }

    /// The path of `p` (relative to the current directory) relative to the
    /// worktree root, with `/` separators as Git spells it.
    pub fn repo_relative(&self, p: &Path) -> Result<String, Error> {
        let root = self.workdir()?;
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", ".", e))?;
        let abs = normalize(&cwd.join(p));
        let rel = abs
            .strip_prefix(normalize(root))
            .map_err(|_| Error::OutsideRepo(p.to_path_buf()))?;
        Ok(rel.to_string_lossy().into_owned())
    }
}

/// Runs a prepared git command.
pub fn run_git<I, S>(mut cmd: Command, args: I, input: Option<&[u8]>) -> Result<Vec<u8>, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    cmd.args(args);
    let shown = format!("{cmd:?}");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().map_err(|e| Error::io("cannot run", "git", e))?;
    let writer = input.map(|bytes| {
        let mut stdin = child.stdin.take().expect("piped");
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        })
    });
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("cannot run", "git", e))?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    if !out.status.success() {
        return Err(Error::Git {
            command: shown,
            message: git_stderr(&out.stderr),
        });
    }
    Ok(out.stdout)
}

/// What a failed git command printed, to quote in our own error. A git
/// command may have run git-dvc (a filter, a hook), whose errors carry the
/// prefix our error adds again: that inner prefix is dropped.
fn git_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .trim()
        .lines()
        .map(|l| l.strip_prefix(crate::ui::ERROR_PREFIX).unwrap_or(l))
        .collect();
    lines.join("\n")
}

fn absolute(p: &Path) -> PathBuf {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    normalize(&p)
}

/// Removes `.` and `..` components lexically (and a trailing slash).
pub fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A filter's error quoted in ours is not prefixed twice.
    #[test]
    fn a_nested_git_dvc_error_loses_its_prefix_when_quoted() {
        let stderr = b"git-dvc: error: cannot store data/a.bin in the cache: No space left on device\nfatal: data/a.bin: clean filter 'dvc' failed\n";
        assert_eq!(
            git_stderr(stderr),
            "cannot store data/a.bin in the cache: No space left on device\nfatal: data/a.bin: clean filter 'dvc' failed"
        );
        assert_eq!(
            git_stderr(b"  fatal: not a git repository\n"),
            "fatal: not a git repository"
        );
    }
}
