//! Layered TOML configuration.
//!
//! Later layers win: the user's `$XDG_CONFIG_HOME/git-dvc/config.toml` <
//! the repository's committed `.gitdvc.toml` < this clone's
//! `<git-common-dir>/dvc/config.toml`. The committed file comes from whoever
//! wrote the repository, so only `[core] remote`, `[remote.*]` and
//! `[transfer]` are read from it; anything that could make git-dvc write
//! outside the repository (`[cache] dir`) is honoured only from the clone's
//! or the user's file, and ignored keys are reported once.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::repo::Repo;

/// The committed, shared config file at the worktree root.
pub const REPO_FILE: &str = ".gitdvc.toml";

/// Default number of parallel transfers.
pub const DEFAULT_JOBS: usize = 8;

pub use crate::ui::WARNED_ENV;

/// Default `[checkout] direct_size`: files at or above it are written by
/// git-dvc itself, not through Git's smudge pipe (which Git buffers whole in
/// memory). Low enough that no process grows past ~100 MiB on checkout.
pub const DEFAULT_DIRECT_SIZE: u64 = 32 << 20;

/// Parses a size: bytes, or a number with a unit (`64MiB`, `1GiB`, `500kB`).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000 * 1000,
        "g" | "gb" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Config errors name the file they come from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{action} ({}): {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file is not valid TOML or has a value of the wrong type.
    #[error("invalid configuration ({}): {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A key holds a value of the wrong kind (`remote = "oops"` where a
    /// table of remotes belongs).
    #[error("invalid configuration: '{key}' must be {expected}, not {found} ({})", path.display())]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: String,
        /// What the schema wants there.
        expected: &'static str,
        /// What the file has.
        found: &'static str,
    },
    /// A repository's file was asked for outside any repository.
    #[error("not in a git repository")]
    NotARepo,
    /// The repository's committed file was asked for in a bare repository.
    #[error("this command needs a work tree (bare repository)")]
    BareRepo,
    /// No remote was named and none is the default.
    #[error("no default remote: add one with `git dvc remote add -d <name> <url>`")]
    NoDefaultRemote,
    /// A remote that is not configured was named.
    #[error("no such remote: {0}")]
    NoSuchRemote(String),
    /// The first word of `push`/`fetch` names neither a configured remote
    /// nor a revision: most likely a mistyped remote.
    #[error("no remote or revision is named '{name}' ({})", match remotes.as_slice() {
        [] => "no remotes are configured".to_string(),
        r => format!("remotes: {}", r.join(", ")),
    })]
    NotARemoteOrRevision {
        /// The word as given.
        name: String,
        /// The remotes that are configured.
        remotes: Vec<String>,
    },
    /// A remote name that is not usable as a TOML key or on a command line.
    #[error("invalid remote name {0:?}: use letters, digits, '-', '_' and '.'")]
    BadRemoteName(String),
    /// A remote URL of a kind git-dvc does not know.
    #[error(
        "unsupported remote URL {0:?}: use a directory path, file:///abs/path, http(s):// or s3://"
    )]
    BadUrl(String),
    /// A remote URL of a known kind with its bucket or host missing.
    #[error("remote URL {url:?} {kind}")]
    IncompleteUrl {
        /// The URL as given.
        url: String,
        /// Which kind, so the message can say what is missing.
        kind: UrlKind,
    },
    /// The remote exists already in that file.
    #[error("remote '{name}' already exists ({}); use --force to replace it", path.display())]
    RemoteExists {
        /// The remote.
        name: String,
        /// The file defining it.
        path: PathBuf,
    },
    /// `remote set` with a key that remotes do not have.
    #[error("unknown remote option '{0}' (known: url, endpoint, region, profile, read_only)")]
    UnknownKey(String),
    /// No `$HOME` or `$XDG_CONFIG_HOME` to find the user's config.
    #[error("cannot find the user's config directory: set HOME or XDG_CONFIG_HOME")]
    NoHome,
}

/// The kinds of remote URL that name a place on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    /// `s3://<bucket>/<prefix>`.
    S3,
    /// `http(s)://<host>/<prefix>`.
    Http,
}

impl std::fmt::Display for UrlKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UrlKind::S3 => "names no bucket: use s3://<bucket>/<prefix>",
            UrlKind::Http => "names no host: use http(s)://<host>/<prefix>",
        })
    }
}

/// One remote's settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
pub struct RemoteConfig {
    /// Where: `/abs/path`, `file://…`, `http(s)://…`, `s3://bucket/prefix`.
    pub url: Option<String>,
    /// S3-compatible endpoint (MinIO, Ceph, R2…).
    pub endpoint: Option<String>,
    /// S3 region.
    pub region: Option<String>,
    /// AWS shared-credentials profile.
    pub profile: Option<String>,
    /// Refuse writes (registries served over HTTP).
    pub read_only: Option<bool>,
    #[serde(flatten, skip_serializing)]
    unknown: BTreeMap<String, toml::Value>,
}

impl RemoteConfig {
    fn merge(&mut self, other: RemoteConfig) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(url, endpoint, region, profile, read_only);
    }
}

#[derive(Debug, Default, Deserialize)]
struct CoreSection {
    remote: Option<String>,
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct CacheSection {
    dir: Option<PathBuf>,
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct TransferSection {
    jobs: Option<usize>,
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct CheckoutSection {
    direct_size: Option<toml::Value>,
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
}

/// One layer as written on disk.
#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    checkout: Option<CheckoutSection>,
    #[serde(default)]
    core: Option<CoreSection>,
    #[serde(default)]
    remote: BTreeMap<String, RemoteConfig>,
    #[serde(default)]
    cache: Option<CacheSection>,
    #[serde(default)]
    transfer: Option<TransferSection>,
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
}

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
    /// `[checkout] direct_size`: files this large or larger are written by
    /// git-dvc from the cache, never through Git's pipe.
    pub direct_size: u64,
    /// Keys that were ignored, phrased for one warning each.
    pub warnings: Vec<String>,
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

fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
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

fn parse_layer(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
    let invalid = |e: toml::de::Error| ConfigError::Invalid {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    };
    let table: toml::Table = toml::from_str(text).map_err(invalid)?;
    check_shape(&table, path)?;
    toml::Value::Table(table).try_into().map_err(invalid)
}

/// The kind of a TOML value, as a message names it.
fn kind(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(i) if *i < 0 => "a negative integer",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// Checks every known key holds the kind of value the schema wants, so a
/// file of the wrong shape (any file can be: the committed one comes from
/// whoever wrote the repository) is refused with the key named, by readers
/// and editors alike. Unknown keys are left to the warnings.
fn check_shape(doc: &toml::Table, path: &Path) -> Result<(), ConfigError> {
    #[derive(Clone, Copy)]
    enum Want {
        Table,
        Str,
        Bool,
        Count,
    }
    let check = |key: &str, v: &toml::Value, want: Want| {
        let ok = match want {
            Want::Table => v.is_table(),
            Want::Str => v.is_str(),
            Want::Bool => v.is_bool(),
            Want::Count => v.as_integer().is_some_and(|i| i >= 0),
        };
        if ok {
            return Ok(());
        }
        Err(ConfigError::WrongType {
            path: path.to_path_buf(),
            key: key.to_string(),
            expected: match want {
                Want::Table => "a table",
                Want::Str => "a string",
                Want::Bool => "true or false",
                Want::Count => "a non-negative integer",
            },
            found: kind(v),
        })
    };
    let section = |name: &str, fields: &[(&str, Want)]| -> Result<(), ConfigError> {
        let Some(v) = doc.get(name) else {
            return Ok(());
        };
        check(name, v, Want::Table)?;
        for (field, want) in fields {
            if let Some(v) = v.get(field) {
                check(&format!("{name}.{field}"), v, *want)?;
            }
        }
        Ok(())
    };
    section("core", &[("remote", Want::Str)])?;
    section("cache", &[("dir", Want::Str)])?;
    section("transfer", &[("jobs", Want::Count)])?;
    section("remote", &[])?;
    if let Some(remotes) = doc.get("remote").and_then(toml::Value::as_table) {
        for (name, r) in remotes {
            let key = format!("remote.{name}");
            check(&key, r, Want::Table)?;
            for (field, want) in [
                ("url", Want::Str),
                ("endpoint", Want::Str),
                ("region", Want::Str),
                ("profile", Want::Str),
                ("read_only", Want::Bool),
            ] {
                if let Some(v) = r.get(field) {
                    check(&format!("{key}.{field}"), v, want)?;
                }
            }
        }
    }
    Ok(())
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

    fn apply(&mut self, layer: ConfigFile, path: &Path, trusted: bool) {
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
        if let Some(t) = layer.transfer {
            t.unknown
                .keys()
                .for_each(|k| unknown(format!("transfer.{k}")));
            if let Some(j) = t.jobs {
                self.jobs = j.max(1);
            }
        }
        let (mut bad_size, mut ignored_checkout) = (false, false);
        if let Some(c) = layer.checkout {
            c.unknown
                .keys()
                .for_each(|k| unknown(format!("checkout.{k}")));
            // The contract reads the committed file for [core] remote,
            // [remote.*] and [transfer] only.
            if !trusted && c.direct_size.is_some() {
                ignored_checkout = true;
            }
            match c.direct_size.as_ref().filter(|_| trusted).map(|v| match v {
                toml::Value::Integer(n) => u64::try_from(*n).ok(),
                toml::Value::String(s) => parse_size(s),
                _ => None,
            }) {
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
            Some(r) if r.url.is_some() => Ok((name, r.clone())),
            _ => Err(ConfigError::NoSuchRemote(name)),
        }
    }
}

/// Checks a remote name is safe as a TOML key and a CLI argument.
pub fn validate_remote_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::BadRemoteName(name.to_string()))
    }
}

/// Checks a remote URL is of a kind git-dvc can use, and complete: an S3
/// URL names a bucket, an HTTP(S) URL a host. A path without a scheme is a
/// directory; a relative one is resolved against the worktree root when
/// the remote is used (and recorded as given).
pub fn validate_url(url: &str) -> Result<(), ConfigError> {
    let bad = |kind| {
        Err(ConfigError::IncompleteUrl {
            url: url.to_string(),
            kind,
        })
    };
    if let Some(rest) = url.strip_prefix("s3://") {
        return match rest.split('/').next() {
            Some(bucket) if !bucket.is_empty() => Ok(()),
            _ => bad(UrlKind::S3),
        };
    }
    if let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        let host = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host.split(':').next().unwrap_or(""),
        };
        return if host.is_empty() {
            bad(UrlKind::Http)
        } else {
            Ok(())
        };
    }
    if let Some(path) = url.strip_prefix("file://") {
        return if path.starts_with('/') {
            Ok(())
        } else {
            Err(ConfigError::BadUrl(url.to_string()))
        };
    }
    // Any other `scheme:` (ftp://…, ssh's host:path) is not a directory.
    let first = url.split('/').next().unwrap_or("");
    if url.is_empty() || first.contains(':') {
        return Err(ConfigError::BadUrl(url.to_string()));
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_file_cannot_move_the_cache() {
        let mut cfg = Config::default();
        let layer = parse_layer(
            "[cache]\ndir = \"/tmp/evil\"\n[core]\nremote = \"s\"\nbogus = 1\n",
            Path::new("/r/.gitdvc.toml"),
        )
        .unwrap();
        cfg.apply(layer, Path::new("/r/.gitdvc.toml"), false);
        assert_eq!(cfg.cache_dir, None);
        assert_eq!(cfg.default_remote.as_deref(), Some("s"));
        assert_eq!(cfg.warnings.len(), 2, "{:?}", cfg.warnings);
        let local = parse_layer(
            "[cache]\ndir = \"../shared\"\n",
            Path::new("/r/.git/dvc/config.toml"),
        )
        .unwrap();
        cfg.apply(local, Path::new("/r/.git/dvc/config.toml"), true);
        assert_eq!(cfg.cache_dir, Some(PathBuf::from("/r/.git/shared")));
    }

    #[test]
    fn later_layers_merge_per_key() {
        let mut cfg = Config::default();
        let a = parse_layer(
            "[remote.s]\nurl = \"s3://b/p\"\nregion = \"eu\"\n",
            Path::new("/a"),
        )
        .unwrap();
        let b = parse_layer(
            "[remote.s]\nendpoint = \"http://127.0.0.1:9000\"\nregion = \"us\"\n",
            Path::new("/b"),
        )
        .unwrap();
        cfg.apply(a, Path::new("/a"), false);
        cfg.apply(b, Path::new("/b"), true);
        let r = &cfg.remotes["s"];
        assert_eq!(r.url.as_deref(), Some("s3://b/p"));
        assert_eq!(r.region.as_deref(), Some("us"));
        assert_eq!(r.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    }

    #[test]
    fn wrong_types_name_the_file() {
        let err =
            parse_layer("[transfer]\njobs = \"many\"\n", Path::new("/x/config.toml")).unwrap_err();
        assert!(err.to_string().contains("/x/config.toml"), "{err}");
    }
}
