//! What most commands start from: the repository, its merged config and
//! its cache, opened once.

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

    /// Turns paths given relative to the current directory into
    /// repo-relative pathspecs.
    pub fn pathspecs(&self, paths: &[std::path::PathBuf]) -> Result<Vec<String>> {
        paths
            .iter()
            .map(|p| Ok(self.repo.repo_relative(p)?))
            .collect()
    }
}

/// An error already reported to the user; the process exits with `code`.
#[derive(Debug, thiserror::Error)]
#[error("exit {code}")]
pub struct Exit {
    /// The exit code.
    pub code: u8,
}
