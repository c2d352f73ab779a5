//! The configuration's schema: the sections a file may hold, the shape
//! checks a layer passes before it is read, and the validation of remote
//! names and URLs.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The committed, shared config file at the worktree root.
pub const REPO_FILE: &str = ".gitdvc.toml";

/// Default `[transfer] jobs`: slots in flight at once. A small object's
/// transfer to S3 is one request that mostly waits on the network (a round
/// trip, the store's first byte), so many run at once; what a transfer
/// costs in slots is its backend's to say (`Remote::slots_for`: parts in
/// flight, an HTTP server's few connections, a directory's buffers), which
/// keeps memory bounded.
pub const DEFAULT_JOBS: usize = 32;

pub use crate::ui::WARNED_ENV;

/// Default `[transfer] part_size`: objects larger than this move in parts
/// of this size (S3 multipart uploads, ranged GETs).
pub const DEFAULT_PART_SIZE: u64 = 16 << 20;

/// Default `[transfer] part_jobs`: parts of one object in flight at once.
/// One stream rarely fills a link (S3 serves each connection at a fraction
/// of what it serves many), so big objects move as several, as the AWS CLI
/// (10 requests) and boto3 do; each holds only a small buffer.
pub const DEFAULT_PART_JOBS: usize = 8;

/// How a big object is split for a transfer (`[transfer] part_size` and
/// `part_jobs`). Memory stays bounded by the parts in flight, each holding
/// only a small buffer, whatever the object's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// Bytes per part; objects at most this large move in one request.
    pub size: u64,
    /// Parts of one object in flight at once.
    pub jobs: usize,
}

impl Default for Parts {
    fn default() -> Parts {
        Parts {
            size: DEFAULT_PART_SIZE,
            jobs: DEFAULT_PART_JOBS,
        }
    }
}

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
    #[error("no such remote ({0})")]
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
    /// How big objects are split: `[transfer] part_size` and `part_jobs`,
    /// attached by [`Config::remote`](super::Config::remote) (not a key of
    /// the remote's table).
    #[serde(skip)]
    pub parts: Parts,
    #[serde(flatten, skip_serializing)]
    pub(super) unknown: BTreeMap<String, toml::Value>,
}

impl RemoteConfig {
    pub(super) fn merge(&mut self, other: RemoteConfig) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(url, endpoint, region, profile, read_only);
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CoreSection {
    pub(super) remote: Option<String>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CacheSection {
    pub(super) dir: Option<PathBuf>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TransferSection {
    pub(super) jobs: Option<usize>,
    pub(super) part_size: Option<toml::Value>,
    pub(super) part_jobs: Option<usize>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CheckoutSection {
    pub(super) direct_size: Option<toml::Value>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, toml::Value>,
}

/// One layer as written on disk.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ConfigFile {
    #[serde(default)]
    pub(super) checkout: Option<CheckoutSection>,
    #[serde(default)]
    pub(super) core: Option<CoreSection>,
    #[serde(default)]
    pub(super) remote: BTreeMap<String, RemoteConfig>,
    #[serde(default)]
    pub(super) cache: Option<CacheSection>,
    #[serde(default)]
    pub(super) transfer: Option<TransferSection>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, toml::Value>,
}

pub(super) fn parse_layer(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
    let invalid = |e: toml::de::Error| ConfigError::Invalid {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    };
    let table: toml::Table = toml::from_str(text).map_err(invalid)?;
    check_shape(&table, path)?;
    toml::Value::Table(table).try_into().map_err(invalid)
}

/// The kind of a TOML value, as a message names it.
pub(super) fn kind(v: &toml::Value) -> &'static str {
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
pub(super) fn check_shape(doc: &toml::Table, path: &Path) -> Result<(), ConfigError> {
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
    section(
        "transfer",
        &[("jobs", Want::Count), ("part_jobs", Want::Count)],
    )?;
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
