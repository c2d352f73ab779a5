//! One module per command. Each takes its parsed arguments, does its work
//! through the library modules, and returns `anyhow::Result` so failures
//! carry their context to the single error printer in [`crate::run`].

pub mod checkout;
pub mod diff;
pub mod fetch;
pub mod filter;
pub mod fsck;
pub mod gc;
pub mod get;
pub mod hook;
pub mod import;
pub mod install;
pub mod ls_files;
pub mod merge_driver;
pub mod migrate;
pub mod pointer;
pub mod push;
pub mod registry_common;
pub mod remote;
pub mod status;
pub mod track;
pub mod transfer_common;

use anyhow::Result;

use crate::cache::Cache;
use crate::config::Config;
use crate::repo::Repo;

/// What most commands need: the repository, its merged config and cache.
pub struct Ctx {
    /// The repository.
    pub repo: Repo,
    /// The merged configuration.
    pub config: Config,
    /// The cache.
    pub cache: Cache,
}

impl Ctx {
    /// Opens the repository around the current directory.
    pub fn open() -> Result<Ctx> {
        let repo = Repo::discover()?;
        let config = Config::load(Some(&repo))?;
        config.print_warnings();
        Ok(Ctx::with(repo, config))
    }

    /// Builds a context from parts already loaded.
    pub fn with(repo: Repo, config: Config) -> Ctx {
        let cache = Cache::new(
            config
                .cache_dir
                .clone()
                .unwrap_or_else(|| repo.default_cache_dir()),
        );
        Ctx {
            repo,
            config,
            cache,
        }
    }
}

/// An error already reported to the user; the process exits with `code`.
#[derive(Debug, thiserror::Error)]
#[error("exit {code}")]
pub struct Exit {
    /// The exit code.
    pub code: u8,
}
