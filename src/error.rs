//! The library's error type. Every variant names the file, object or remote
//! it concerns, so the message printed at the command edge
//! (`git-dvc: error: <what> (<which>)`) tells the user where to look.

use std::io;
use std::path::PathBuf;

use crate::cache::CacheError;
use crate::config::ConfigError;

/// Errors from git-dvc's library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Run outside any Git repository.
    #[error("not in a git repository")]
    NotARepo,
    /// A command that needs a worktree was run in a bare repository.
    #[error("this command needs a work tree (bare repository)")]
    BareRepo,
    /// A path argument lies outside the worktree.
    #[error("path is outside the repository ({})", .0.display())]
    OutsideRepo(PathBuf),
    /// A git command failed.
    #[error("{message} ({command})")]
    Git {
        /// The command line.
        command: String,
        /// What Git printed on stderr.
        message: String,
    },
    /// libgit2 failed reading the repository.
    #[error("{0}")]
    Git2(#[from] git2::Error),
    /// libgit2 failed on a named revision, object or repository.
    #[error("{} ({what})", source.message())]
    Git2At {
        /// The revision, object or repository, as the user knows it.
        what: String,
        /// The cause.
        source: git2::Error,
    },
    /// An I/O error on a path.
    #[error("{action} ({path}): {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// A cache error.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// A configuration error.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A write, delete or read below a directory would pass through a
    /// symbolic link or a non-directory already there (committed, or
    /// planted), which could lead outside it.
    #[error("refusing to {action} through {what} ({path})")]
    Through {
        /// "write", "delete" or "read".
        action: &'static str,
        /// "a symbolic link" or "a non-directory".
        what: &'static str,
        /// The path refused, as the user names it.
        path: String,
    },
    /// A revision Git does not know.
    #[error("unknown revision ({0})")]
    UnknownRevision(String),
    /// A revision that names neither a commit nor a tree.
    #[error("not a commit or tree ({0})")]
    NotATree(String),
    /// A path given to a confined directory that is not plainly below it
    /// (absolute, `..`), or names nothing below it.
    #[error("{what} ({})", path.display())]
    NotBelow {
        /// What is wrong.
        what: &'static str,
        /// The path, as the user names it.
        path: PathBuf,
    },
    /// A source (`get`, `import`, `update`) failed or was refused.
    #[error(transparent)]
    Registry(#[from] crate::registry::error::RegistryError),
    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: impl std::fmt::Display, source: io::Error) -> Error {
        Error::Io {
            action,
            path: path.to_string(),
            source,
        }
    }
}

/// Names what a libgit2 call was about, so its error says which revision,
/// object or repository failed (`git2`'s own messages name none).
pub trait GitContext<T> {
    /// The error, with `what` named.
    fn at(self, what: impl std::fmt::Display) -> Result<T, Error>;
}

impl<T> GitContext<T> for Result<T, git2::Error> {
    fn at(self, what: impl std::fmt::Display) -> Result<T, Error> {
        self.map_err(|source| Error::Git2At {
            what: what.to_string(),
            source,
        })
    }
}
