//! The cache of source repositories: one bare clone per source URL, under
//! the git dir (or the user's cache outside a repository), reused across
//! calls and fetched again only when a rev is unknown or follows a branch.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::RegistryError;
use crate::error::{Error, GitContext};
use crate::repo::run_git;

/// A source repository, cloned locally.
pub struct Source {
    /// The URL or path as the user gave it, made absolute when local.
    pub url: String,
    /// The bare clone.
    pub git: git2::Repository,
    /// The source's own worktree when it is on this machine.
    pub local_root: Option<PathBuf>,
    dir: PathBuf,
}

/// What a rev resolved to.
pub struct Resolved {
    /// The commit.
    pub commit: String,
    /// True when the rev names a branch (or is the default branch), which
    /// `update` follows.
    pub follows_branch: bool,
}

/// Makes a local path absolute (so records stay valid from any directory);
/// URLs stay as they are.
pub fn normalize_url(url: &str) -> String {
    if url.contains("://") || (url.contains(':') && !url.starts_with('/') && !url.starts_with('.'))
    {
        return url.to_string();
    }
    let p = Path::new(url);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    crate::repo::normalize(&abs).to_string_lossy().into_owned()
}

fn git_in(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C").arg(dir);
    c
}

impl Source {
    /// Opens the cached clone of `url` under `cache_root`, cloning it first
    /// when needed.
    pub fn open(url: &str, cache_root: &Path) -> Result<Source, Error> {
        use sha2::Digest;
        let url = normalize_url(url);
        let key: String = sha2::Sha256::digest(url.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let dir = cache_root.join(key);
        if !dir.join("HEAD").exists() {
            std::fs::create_dir_all(cache_root)
                .map_err(|e| Error::io("cannot create", cache_root.display(), e))?;
            let tmp = tempfile::Builder::new()
                .prefix(".clone-")
                .tempdir_in(cache_root)
                .map_err(|e| Error::io("cannot create a temp dir in", cache_root.display(), e))?;
            let target = tmp.path().join("repo.git");
            let mut cmd = Command::new("git");
            cmd.env("GIT_TERMINAL_PROMPT", "0");
            run_git(
                cmd,
                [
                    "clone",
                    "--bare",
                    "--quiet",
                    "--",
                    url.as_str(),
                    target.to_str().unwrap_or_default(),
                ],
                None,
            )
            .map_err(|e| {
                Error::from(RegistryError::Clone {
                    url: url.clone(),
                    message: git_message(&e),
                })
            })?;
            std::fs::rename(&target, &dir)
                .map_err(|e| Error::io("cannot move the clone to", dir.display(), e))?;
        }
        let git = git2::Repository::open_bare(&dir).at(dir.display())?;
        let local = url.strip_prefix("file://").unwrap_or(&url);
        let local_root = Path::new(local).is_dir().then(|| PathBuf::from(local));
        Ok(Source {
            url,
            git,
            local_root,
            dir,
        })
    }

    /// Fetches every branch and tag from the source.
    pub fn fetch(&self) -> Result<(), Error> {
        let mut cmd = git_in(&self.dir);
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        run_git(
            cmd,
            [
                "fetch",
                "--quiet",
                "--prune",
                "--tags",
                "--",
                self.url.as_str(),
                "+refs/heads/*:refs/heads/*",
            ],
            None,
        )
        .map_err(|e| {
            Error::from(RegistryError::Fetch {
                url: self.url.clone(),
                message: git_message(&e),
            })
        })?;
        Ok(())
    }

    /// Resolves `rev` (branch, tag, commit; none = the default branch).
    /// A full commit id or a known tag needs no fetch; branches are fetched
    /// so they resolve to the source's latest.
    pub fn resolve(&self, rev: Option<&str>, fetched: &mut bool) -> Result<Resolved, Error> {
        let pinned_locally = rev.is_some_and(|r| {
            (r.len() == 40
                && self
                    .git
                    .find_commit(git2::Oid::from_str(r).unwrap_or(git2::Oid::zero()))
                    .is_ok())
                || self.git.find_reference(&format!("refs/tags/{r}")).is_ok()
        });
        if !pinned_locally && !*fetched {
            self.fetch()?;
            *fetched = true;
        }
        let (obj, follows) = match rev {
            None => (self.git.revparse_single("HEAD"), true),
            Some(r) => match self.git.find_reference(&format!("refs/heads/{r}")) {
                Ok(b) => (b.peel(git2::ObjectType::Commit), true),
                Err(_) => (self.git.revparse_single(r), false),
            },
        };
        let commit = obj.and_then(|o| o.peel_to_commit()).map_err(|_| {
            Error::from(RegistryError::UnknownRevision {
                url: self.url.clone(),
                rev: rev.unwrap_or("HEAD").to_string(),
            })
        })?;
        Ok(Resolved {
            commit: commit.id().to_string(),
            follows_branch: follows,
        })
    }
}

fn git_message(e: &Error) -> String {
    match e {
        Error::Git { message, .. } => message.lines().last().unwrap_or("").to_string(),
        other => other.to_string(),
    }
}

/// Where source clones are kept: under the git dir inside a repository,
/// else in the user's cache directory.
pub fn cache_root(repo: Option<&crate::repo::Repo>) -> PathBuf {
    if let Some(r) = repo {
        return r.dvc_dir().join("sources");
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("git-dvc").join("sources")
}
