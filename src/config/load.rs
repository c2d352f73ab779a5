//! The layered load and its trust policy: which layer may set what, and
//! the warnings for what a committed file tried to set.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::schema::*;
use crate::repo::Repo;

/// Which file a setting is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `.gitdvc.toml`, committed and shared.
    Repo,
    /// `<git-common-dir>/dvc/config.toml`, this clone only.
    Local,
    /// The user's `~/.config/git-dvc/config.toml`.
    Global,
}

/// The merged configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The default remote's name.
    pub default_remote: Option<String>,
    /// Every configured remote.
    pub remotes: BTreeMap<String, RemoteConfig>,
    /// A cache directory other than the default (absolute).
    pub cache_dir: Option<PathBuf>,
    /// Parallel transfers.
    pub jobs: usize,
    /// How big objects are split (`[transfer] part_size`, `part_jobs`).
    pub parts: Parts,
    /// `[checkout] direct_size`: files this large or larger are written by
    /// git-dvc from the cache, never through Git's pipe.
    pub direct_size: u64,
    /// Keys that were ignored, phrased for one warning each.
    pub warnings: Vec<String>,
}

/// A size as a config file may give it: a byte count or a string such as
/// `"64MiB"`.
fn size_value(v: &toml::Value) -> Option<u64> {
    match v {
        toml::Value::Integer(n) => u64::try_from(*n).ok(),
        toml::Value::String(s) => parse_size(s),
        _ => None,
    }
}

/// The user's config file path.
pub fn user_config_path() -> Result<PathBuf, ConfigError> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("git-dvc").join("config.toml"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::NoHome)?;
    Ok(PathBuf::from(home)
        .join(".config")
        .join("git-dvc")
        .join("config.toml"))
}

/// The file for `scope` in `repo`.
pub fn scope_path(scope: Scope, repo: Option<&Repo>) -> Result<PathBuf, ConfigError> {
    Ok(match scope {
        Scope::Global => user_config_path()?,
        Scope::Repo => repo
            .ok_or(ConfigError::NotARepo)?
            .workdir
            .as_deref()
            .ok_or(ConfigError::BareRepo)?
            .join(REPO_FILE),
        Scope::Local => repo
            .ok_or(ConfigError::NotARepo)?
            .dvc_dir()
            .join("config.toml"),
    })
}

pub(super) fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl Config {
    /// Loads every layer that exists. With no repository, only the user's.
    pub fn load(repo: Option<&Repo>) -> Result<Config, ConfigError> {
        let repo_file = match repo.and_then(|r| r.workdir.as_deref()) {
            Some(root) => {
                let path = root.join(REPO_FILE);
                read_optional(&path)?.map(|t| (t, path))
            }
            None => None,
        };
        Config::load_with_repo_file(repo, repo_file)
    }

    /// Loads for a checkout of `treeish`: the committed layer comes from the
    /// worktree when it is there, else from the commit being checked out
    /// (during `git clone` it is not written yet), else from HEAD.
    pub fn load_for_checkout(repo: &Repo, treeish: Option<&str>) -> Result<Config, ConfigError> {
        if let Some(root) = repo.workdir.as_deref() {
            let path = root.join(REPO_FILE);
            if let Some(text) = read_optional(&path)? {
                return Config::load_with_repo_file(Some(repo), Some((text, path)));
            }
        }
        let from_rev = |rev: &str| -> Option<(String, PathBuf)> {
            let tree = repo.git.revparse_single(rev).ok()?.peel_to_tree().ok()?;
            let entry = tree.get_name(REPO_FILE)?;
            let blob = repo.git.find_blob(entry.id()).ok()?;
            let text = String::from_utf8(blob.content().to_vec()).ok()?;
            Some((text, PathBuf::from(format!("{rev}:{REPO_FILE}"))))
        };
        let layer = treeish.and_then(from_rev).or_else(|| from_rev("HEAD"));
        Config::load_with_repo_file(Some(repo), layer)
    }

    /// The committed layer alone, as read from another repository (a
    /// registry source): only its whitelisted keys count.
    pub fn from_committed_text(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg = Config {
            jobs: DEFAULT_JOBS,
            direct_size: DEFAULT_DIRECT_SIZE,
            ..Config::default()
        };
        cfg.apply(parse_layer(text, path)?, path, false);
        Ok(cfg)
    }

    /// Loads with the committed layer given explicitly: during a clone it is
    /// read from the commit being checked out, not the worktree.
    pub fn load_with_repo_file(
        repo: Option<&Repo>,
        repo_file: Option<(String, PathBuf)>,
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config {
            jobs: DEFAULT_JOBS,
            direct_size: DEFAULT_DIRECT_SIZE,
            ..Config::default()
        };
        if let Ok(path) = user_config_path() {
            if let Some(text) = read_optional(&path)? {
                cfg.apply(parse_layer(&text, &path)?, &path, true);
            }
        }
        if let Some((text, path)) = repo_file {
            cfg.apply(parse_layer(&text, &path)?, &path, false);
        }
        if let Some(repo) = repo {
            let path = repo.dvc_dir().join("config.toml");
            if let Some(text) = read_optional(&path)? {
                cfg.apply(parse_layer(&text, &path)?, &path, true);
            }
        }
        cfg.apply_env();
        Ok(cfg)
    }

    pub(super) fn apply(&mut self, layer: ConfigFile, path: &Path, trusted: bool) {
        let shown = path.display();
        let mut unknown = |key: String| {
            self.warnings.push(format!(
                "unknown configuration key '{key}' ignored ({shown})"
            ));
        };
        for k in layer.unknown.keys() {
            unknown(k.clone());
        }
        if let Some(core) = layer.core {
            core.unknown
                .keys()
                .for_each(|k| unknown(format!("core.{k}")));
            if core.remote.is_some() {
                self.default_remote = core.remote;
            }
        }
        let (mut bad_size, mut ignored_checkout, mut bad_part) = (false, false, false);
        if let Some(t) = layer.transfer {
            t.unknown
                .keys()
                .for_each(|k| unknown(format!("transfer.{k}")));
            if let Some(j) = t.jobs {
                self.jobs = j.max(1);
            }
            if let Some(j) = t.part_jobs {
                self.parts.jobs = j.max(1);
            }
            match t.part_size.as_ref().map(size_value) {
                Some(Some(n)) if n > 0 => self.parts.size = n,
                Some(_) => bad_part = true,
                None => {}
            }
        }
        if let Some(c) = layer.checkout {
            c.unknown
                .keys()
                .for_each(|k| unknown(format!("checkout.{k}")));
            // The contract reads the committed file for [core] remote,
            // [remote.*] and [transfer] only.
            if !trusted && c.direct_size.is_some() {
                ignored_checkout = true;
            }
            match c.direct_size.as_ref().filter(|_| trusted).map(size_value) {
                Some(Some(n)) => self.direct_size = n,
                Some(None) => bad_size = true,
                None => {}
            }
        }
        for (name, r) in &layer.remote {
            r.unknown
                .keys()
                .for_each(|k| unknown(format!("remote.{name}.{k}")));
        }
        if let Some(c) = layer.cache {
            c.unknown.keys().for_each(|k| unknown(format!("cache.{k}")));
            if let Some(dir) = c.dir {
                if trusted {
                    let base = path.parent().unwrap_or(Path::new("/"));
                    self.cache_dir = Some(crate::repo::normalize(&base.join(dir)));
                } else {
                    self.warnings.push(format!(
                        "'cache.dir' in a committed {REPO_FILE} is ignored, since it could make git-dvc write outside the repository: set it in the clone's <git-dir>/dvc/config.toml or in your own ~/.config/git-dvc/config.toml ({shown})"
                    ));
                }
            }
        }
        for (name, r) in layer.remote {
            self.remotes.entry(name).or_default().merge(r);
        }
        if ignored_checkout {
            self.warnings.push(format!(
                "'checkout.direct_size' in a committed {REPO_FILE} is ignored: set it in the clone's <git-dir>/dvc/config.toml or in your own ~/.config/git-dvc/config.toml ({shown})"
            ));
        }
        if bad_size {
            self.warnings.push(format!(
                "'checkout.direct_size' must be a size such as \"64MiB\" or a byte count; ignored ({shown})"
            ));
        }
        if bad_part {
            self.warnings.push(format!(
                "'transfer.part_size' must be a size such as \"16MiB\" or a byte count above 0; ignored ({shown})"
            ));
        }
    }

    fn apply_env(&mut self) {
        if let Some(r) = std::env::var("GIT_DVC_REMOTE")
            .ok()
            .filter(|v| !v.is_empty())
        {
            self.default_remote = Some(r);
        }
        if let Some(n) = std::env::var("GIT_DVC_DIRECT_SIZE")
            .ok()
            .and_then(|v| parse_size(&v))
        {
            self.direct_size = n;
        }
        if let Some(j) = std::env::var("GIT_DVC_JOBS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        {
            self.jobs = j.max(1);
        }
    }

    /// Prints the warnings gathered while loading, once each.
    pub fn print_warnings(&self) {
        // A filter or hook that git-dvc itself started through Git: the
        // git-dvc command around it has said these already.
        if std::env::var_os(WARNED_ENV).is_some() {
            return;
        }
        for w in &self.warnings {
            crate::ui::warn(w);
        }
    }

    /// The remote named `name`, or the default one.
    pub fn remote(&self, name: Option<&str>) -> Result<(String, RemoteConfig), ConfigError> {
        let name = match name.or(self.default_remote.as_deref()) {
            Some(n) => n.to_string(),
            None => return Err(ConfigError::NoDefaultRemote),
        };
        match self.remotes.get(&name) {
            Some(r) if r.url.is_some() => Ok((
                name,
                RemoteConfig {
                    parts: self.parts,
                    ..r.clone()
                },
            )),
            _ => Err(ConfigError::NoSuchRemote(name)),
        }
    }
}
