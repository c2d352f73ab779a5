//! Remotes: where objects go on `push` and come from on `fetch`.
//!
//! Every remote stores object `<oid>` at `<root>/<oid[0..2]>/<oid[2..]>`,
//! the cache's own layout, so a cache or a directory remote served by any
//! static web server is a valid read-only HTTP remote. The backends sit
//! behind one [`Remote`] trait; the transfer engine
//! ([`crate::transfer`]) adds parallelism, retries and progress on top.
//!
//! Every download is verified against its oid before it enters the cache:
//! a backend streams bytes into [`Cache::insert_verified`]-like writers and
//! a mismatch stores nothing.

pub mod dir;
pub mod http;
pub(crate) mod parts;
pub mod retry;
pub mod s3;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use crate::cache::{Cache, CacheError};
use crate::config::RemoteConfig;
use crate::oid::Oid;

/// What can go wrong talking to a remote. Each variant names the remote;
/// object-level ones name the object too.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The remote does not have the object.
    #[error("object {oid} is not on remote '{remote}'")]
    NotFound {
        /// The object.
        oid: Oid,
        /// The remote.
        remote: String,
    },
    /// Nothing is stored under that key (raw reads of other layouts).
    #[error("{key} is not on remote '{remote}'")]
    KeyNotFound {
        /// The key below the remote's root.
        key: String,
        /// The remote.
        remote: String,
    },
    /// The remote served bytes that do not hash to the object id.
    #[error(
        "remote '{remote}' served wrong content for object {oid} (it hashed to {actual}); nothing was stored"
    )]
    Mismatch {
        /// The object asked for.
        oid: Oid,
        /// The remote.
        remote: String,
        /// What the bytes hashed to.
        actual: Oid,
    },
    /// The remote answered another size than the object's: refused at
    /// once, before a wrong (or endless) answer fills the disk.
    #[error(
        "remote '{remote}' answered {answered} bytes for object {oid} of {expected}; nothing was stored"
    )]
    WrongSize {
        /// The object asked for.
        oid: Oid,
        /// The remote.
        remote: String,
        /// The object's size, as its pointer (or the remote's listing) says.
        expected: u64,
        /// What the remote's answer announced, or held when it ran over.
        answered: u64,
    },
    /// Writing to a read-only remote.
    #[error("remote '{remote}' is read-only: objects cannot be uploaded to it")]
    ReadOnly {
        /// The remote.
        remote: String,
    },
    /// The server does not do what was asked (HTTP 405, 501): it answered,
    /// so this is not retried, and it is not a remote configured read-only.
    #[error("remote '{remote}' does not accept {request}: the server answered HTTP {status}")]
    NotSupported {
        /// The remote.
        remote: String,
        /// The request, as `PUT <url>`.
        request: String,
        /// The status line, as `405 Method Not Allowed`.
        status: String,
    },
    /// The root directory of a directory remote is not there (an unmounted
    /// disk, a typo, a remote moved away).
    #[error("the directory of remote '{remote}' does not exist ({})", path.display())]
    NoDirectory {
        /// The remote.
        remote: String,
        /// The directory.
        path: std::path::PathBuf,
    },
    /// Credentials missing or refused.
    #[error("remote '{remote}' refused access: {message}")]
    Denied {
        /// The remote.
        remote: String,
        /// The server's words.
        message: String,
    },
    /// A failure worth retrying: 5xx, timeout, reset, a body cut short.
    #[error("remote '{remote}': {message}")]
    Transient {
        /// The remote.
        remote: String,
        /// What happened.
        message: String,
    },
    /// Any other failure.
    #[error("remote '{remote}': {message}")]
    Failed {
        /// The remote.
        remote: String,
        /// What happened.
        message: String,
    },
    /// The remote's configuration is unusable.
    #[error("remote '{remote}' is misconfigured: {message}")]
    Config {
        /// The remote.
        remote: String,
        /// What is wrong.
        message: String,
    },
    /// The local side failed (cache full, unreadable object…).
    #[error(transparent)]
    Cache(#[from] CacheError),
}

impl RemoteError {
    /// True for failures a retry may cure.
    pub fn is_transient(&self) -> bool {
        matches!(self, RemoteError::Transient { .. })
    }

    /// True for failures of the remote as a whole rather than of one
    /// object: reported once, not once per object.
    pub fn is_remote_wide(&self) -> bool {
        matches!(self, RemoteError::NoDirectory { .. })
    }
}

/// A place objects are stored. Implementations must never leave a partial
/// object visible under an object's name.
#[async_trait]
pub trait Remote: Send + Sync {
    /// The remote's name, for messages.
    fn name(&self) -> &str;

    /// True when the remote holds the object and, when `size` is given and
    /// the remote can tell, holds it at that size: a truncated object is not
    /// "already there", so push replaces it.
    async fn contains(&self, oid: &Oid, size: Option<u64>) -> Result<bool, RemoteError>;

    /// Which of `oids` the remote holds, each with its stored size, learnt
    /// from a listing (S3 `ListObjectsV2` of the two-hex prefixes the batch
    /// touches, a readdir of those directories) rather than one request
    /// per object: a push of thousands of small objects otherwise spends
    /// its time on existence checks. The engine compares the sizes itself,
    /// so a truncated object still counts as missing.
    ///
    /// `None` says the remote cannot list (a static web server): the
    /// engine then asks [`Remote::contains`] per object, in parallel and
    /// with its retries, which is why the fallback lives there and not in
    /// this default.
    async fn held(&self, oids: &[Oid]) -> Result<Option<HashMap<Oid, u64>>, RemoteError> {
        let _ = oids;
        Ok(None)
    }

    /// True when [`Remote::upload`] of an object of `size` bytes hashes
    /// the object as it reads it and fails (quarantining the object) on a
    /// mismatch, before anything is visible on the remote. The engine then
    /// skips its own hashing pass before the upload, which for small
    /// objects costs as much as the copy itself, and for big ones as much
    /// as a fast network's transfer.
    fn upload_verifies(&self, size: u64) -> bool {
        let _ = size;
        false
    }

    /// The slots of `transfer.jobs` a transfer of an object of `size` bytes
    /// takes while it runs: by default one, the request it keeps in flight.
    /// A backend says what one of its transfers costs: parts in flight
    /// (each holds its own buffers), connections a server accepts, memory
    /// held. The engine runs as many transfers at once as fit, so
    /// thousands of small objects keep every slot busy (each request waits
    /// on the network, not the CPU) while a few big ones cannot multiply
    /// `jobs` by their parts.
    fn slots_for(&self, size: u64) -> usize {
        let _ = size;
        1
    }

    /// Downloads the object into `cache`, verifying it; returns its size.
    /// `size` is what the object's pointer says, when known: an answer
    /// that announces another size, or runs past it, is refused as soon as
    /// it does ([`RemoteError::WrongSize`]), not after it has filled a
    /// temp file and failed its hash.
    async fn download(
        &self,
        oid: &Oid,
        size: Option<u64>,
        cache: &Cache,
    ) -> Result<u64, RemoteError>;

    /// [`Remote::download`] on the calling thread, for a backend whose
    /// download is local disk work (a directory). A clone's delayed
    /// downloads run on their own threads and call this first: each small
    /// object is then not handed to a blocking pool and back, three
    /// thread wakeups that cost as much as the copy. `None`: the backend
    /// has no such path.
    fn download_here(
        &self,
        oid: &Oid,
        size: Option<u64>,
        cache: &Cache,
    ) -> Option<Result<u64, RemoteError>> {
        let _ = (oid, size, cache);
        None
    }

    /// Uploads the cached object (`size` bytes) to the remote.
    async fn upload(&self, oid: &Oid, size: u64, cache: &Cache) -> Result<(), RemoteError>;

    /// Removes the object (gc on a remote).
    async fn delete(&self, oid: &Oid) -> Result<(), RemoteError>;

    /// Removes what interrupted uploads left behind (gc); returns the files
    /// and bytes removed. Remotes whose uploads are atomic have none.
    async fn remove_stale_temps(&self) -> Result<(usize, u64), RemoteError> {
        Ok((0, 0))
    }

    /// Every object on the remote, with its size where the listing says
    /// it (S3's does; a directory's costs a stat per object, which it pays).
    /// A transfer of an object is weighed by its size
    /// ([`Remote::slots_for`]): without one, `fsck --remote` counted a big
    /// object as a single request while it ran a request per part.
    async fn list(&self) -> Result<Vec<(Oid, Option<u64>)>, RemoteError>;

    /// Streams whatever is stored at `key` below the root into `w`,
    /// unverified: for layouts other than git-dvc's (a DVC remote's
    /// `files/md5/…`), whose callers verify by their own hash.
    async fn get_raw(
        &self,
        key: &str,
        w: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, RemoteError>;
}

/// Where a failed raw write went wrong, as a remote error.
pub(crate) fn sink_err(e: std::io::Error) -> RemoteError {
    RemoteError::Cache(CacheError::Io {
        action: "cannot write a download",
        path: std::path::PathBuf::from("<cache>"),
        source: e,
    })
}

/// The path of an object below a remote's root: `ab/cdef…`.
pub fn object_key(oid: &Oid) -> String {
    let hex = oid.to_hex();
    format!("{}/{}", &hex[..2], &hex[2..])
}

/// The two-hex directories (`ab` of `ab/cdef…`) that `oids` lie in, each
/// once: what a batch's listing has to read.
pub fn prefixes(oids: &[Oid]) -> BTreeSet<String> {
    oids.iter().map(|o| o.to_hex()[..2].to_string()).collect()
}

/// Opens the remote `name` configured as `cfg`. Relative directory URLs are
/// resolved against `base` (the worktree root).
pub fn open(
    name: &str,
    cfg: &RemoteConfig,
    base: Option<&Path>,
) -> Result<Arc<dyn Remote>, RemoteError> {
    let url = cfg.url.as_deref().ok_or_else(|| RemoteError::Config {
        remote: name.to_string(),
        message: "no url".into(),
    })?;
    // The same check as `remote add`, for URLs that came another way (a
    // committed file, a source's config).
    crate::config::validate_url(url).map_err(|e| RemoteError::Config {
        remote: name.to_string(),
        message: e.to_string(),
    })?;
    let read_only = cfg.read_only.unwrap_or(false);
    // Read-only is enforced here, once, for every backend.
    let guard = |r: Arc<dyn Remote>| if read_only { self::read_only(r) } else { r };
    if let Some(rest) = url.strip_prefix("s3://") {
        return Ok(guard(Arc::new(s3::S3Remote::new(name, rest, cfg)?)));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(guard(Arc::new(
            http::HttpRemote::new(name, url)?.with_parts(cfg.parts),
        )));
    }
    let path = url.strip_prefix("file://").unwrap_or(url);
    let path = Path::new(path);
    let path = match base {
        Some(b) if path.is_relative() => b.join(path),
        _ => path.to_path_buf(),
    };
    Ok(guard(Arc::new(dir::DirRemote::new(name, &path))))
}

/// `remote`, refusing every write: uploads and deletes fail with
/// [`RemoteError::ReadOnly`] before the backend is asked, and gc leaves its
/// temp files alone. The one place a remote's `read_only` is enforced.
pub fn read_only(remote: Arc<dyn Remote>) -> Arc<dyn Remote> {
    Arc::new(ReadOnly(remote))
}

struct ReadOnly(Arc<dyn Remote>);

impl ReadOnly {
    fn refused(&self) -> RemoteError {
        RemoteError::ReadOnly {
            remote: self.0.name().to_string(),
        }
    }
}

#[async_trait]
impl Remote for ReadOnly {
    fn name(&self) -> &str {
        self.0.name()
    }

    async fn contains(&self, oid: &Oid, size: Option<u64>) -> Result<bool, RemoteError> {
        self.0.contains(oid, size).await
    }

    async fn held(&self, oids: &[Oid]) -> Result<Option<HashMap<Oid, u64>>, RemoteError> {
        self.0.held(oids).await
    }

    fn upload_verifies(&self, size: u64) -> bool {
        self.0.upload_verifies(size)
    }

    fn slots_for(&self, size: u64) -> usize {
        self.0.slots_for(size)
    }

    async fn download(
        &self,
        oid: &Oid,
        size: Option<u64>,
        cache: &Cache,
    ) -> Result<u64, RemoteError> {
        self.0.download(oid, size, cache).await
    }

    fn download_here(
        &self,
        oid: &Oid,
        size: Option<u64>,
        cache: &Cache,
    ) -> Option<Result<u64, RemoteError>> {
        self.0.download_here(oid, size, cache)
    }

    async fn upload(&self, _oid: &Oid, _size: u64, _cache: &Cache) -> Result<(), RemoteError> {
        Err(self.refused())
    }

    async fn delete(&self, _oid: &Oid) -> Result<(), RemoteError> {
        Err(self.refused())
    }

    async fn remove_stale_temps(&self) -> Result<(usize, u64), RemoteError> {
        Ok((0, 0))
    }

    async fn list(&self) -> Result<Vec<(Oid, Option<u64>)>, RemoteError> {
        self.0.list().await
    }

    async fn get_raw(
        &self,
        key: &str,
        w: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, RemoteError> {
        self.0.get_raw(key, w).await
    }
}

/// Maps a cache-side verification failure of a download to the remote error
/// that names the remote.
pub(crate) fn verify_err(remote: &str, e: CacheError) -> RemoteError {
    match e {
        CacheError::Mismatch { expected, actual } => RemoteError::Mismatch {
            oid: expected,
            remote: remote.to_string(),
            actual,
        },
        other => RemoteError::Cache(other),
    }
}

/// Parses `ab/cdef…` keys back into ids (listing a remote).
pub fn oid_from_key(key: &str) -> Option<Oid> {
    let mut parts = key.rsplitn(2, '/');
    let rest = parts.next()?;
    let prefix = parts.next()?.rsplit('/').next()?;
    if prefix.len() != 2 {
        return None;
    }
    Oid::from_hex(&format!("{prefix}{rest}"))
}
