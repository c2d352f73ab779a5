//! A directory remote (`/abs/path`, `file:///abs/path`): a mounted disk, an
//! NFS share, another machine's cache.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{Remote, RemoteError, object_key, verify_err};
use crate::cache::{self, Cache, Checked};
use crate::oid::Oid;

/// Uploads in progress: `<root>/<xx>/.incoming-*`, locked while written.
const TEMP_PREFIX: &str = ".incoming-";

/// Objects up to this size move through one buffer: an upload reads it once,
/// hashes and writes from the same bytes (larger ones are copied by the
/// kernel, a reflink where the filesystem can, and hashed beside the copy);
/// a download hashes it before creating any file. The cache's own bound for
/// checking in memory, so an upload never gets a file where it wants bytes.
const IN_MEMORY: u64 = cache::CHECK_IN_MEMORY;

/// Big objects copied at once at the default `transfer.jobs`: more streams
/// than this only make one disk seek between them.
const BIG_COPIES: usize = 8;

/// Objects under a local directory, written atomically like the cache.
/// Cheap to clone (a name and a path), so blocking work moves to
/// `spawn_blocking` with its own copy.
#[derive(Clone)]
pub struct DirRemote {
    name: String,
    root: PathBuf,
}

impl DirRemote {
    /// A directory remote rooted at `root`.
    pub fn new(name: &str, root: &Path) -> DirRemote {
        DirRemote {
            name: name.to_string(),
            root: root.to_path_buf(),
        }
    }

    fn path(&self, oid: &Oid) -> PathBuf {
        self.root.join(object_key(oid))
    }

    /// What a missing file means: not on the remote, or, when the root
    /// itself is gone, that the remote's directory is not there at all.
    fn not_found(&self, missing: RemoteError) -> RemoteError {
        match fs::metadata(&self.root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => RemoteError::NoDirectory {
                remote: self.name.clone(),
                path: self.root.clone(),
            },
            _ => missing,
        }
    }

    fn failed(&self, action: &str, path: &Path, e: io::Error) -> RemoteError {
        RemoteError::Failed {
            remote: self.name.clone(),
            message: format!("{action} {}: {e}", path.display()),
        }
    }

    /// Runs `f` on a copy of the remote on tokio's blocking pool: disk I/O
    /// (a slow NFS share, a spinning disk) never holds an async worker.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(DirRemote) -> Result<T, RemoteError> + Send + 'static,
    ) -> Result<T, RemoteError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(me))
            .await
            .unwrap_or_else(|e| {
                Err(RemoteError::Failed {
                    remote: self.name.clone(),
                    message: e.to_string(),
                })
            })
    }

    fn download_blocking(
        &self,
        oid: &Oid,
        size: Option<u64>,
        cache: &Cache,
    ) -> Result<u64, RemoteError> {
        let path = self.path(oid);
        let mut file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(self.not_found(RemoteError::NotFound {
                    oid: *oid,
                    remote: self.name.clone(),
                }));
            }
            Err(e) => return Err(self.failed("cannot open", &path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| self.failed("cannot stat", &path, e))?
            .len();
        if let Some(expected) = size.filter(|s| *s != len) {
            return Err(RemoteError::WrongSize {
                oid: *oid,
                remote: self.name.clone(),
                expected,
                answered: len,
            });
        }
        if len > IN_MEMORY {
            return cache
                .insert_copy_verified(oid, &file, len)
                .map_err(|e| verify_err(&self.name, e));
        }
        // A small object: read into a buffer of its size (and one byte
        // more, so a file that grew fails its hash), hashed before any file
        // is created, written in one call. Read directly: `read_to_end`
        // would stat and seek the file again to size its buffer.
        let mut buf = vec![0; len as usize + 1];
        let n = crate::read_full(&mut file, &mut buf)
            .map_err(|e| self.failed("cannot read", &path, e))?;
        buf.truncate(n);
        cache
            .insert_verified_bytes(oid, &buf)
            .map_err(|e| verify_err(&self.name, e))
    }

    fn list_blocking(&self) -> Result<Vec<(Oid, Option<u64>)>, RemoteError> {
        // An empty listing of a directory that is not there would pass
        // for an empty remote.
        if let Err(e) = fs::metadata(&self.root) {
            return Err(match e.kind() {
                io::ErrorKind::NotFound => RemoteError::NoDirectory {
                    remote: self.name.clone(),
                    path: self.root.clone(),
                },
                _ => self.failed("cannot read", &self.root, e),
            });
        }
        Cache::new(&self.root)
            .list_sized()
            .map_err(RemoteError::Cache)
    }

    /// Which of `oids` are here, with their sizes: one readdir per
    /// two-hex directory the batch touches, and a stat only of the objects
    /// found (for their size). A missing directory holds nothing.
    fn held_blocking(&self, oids: &[Oid]) -> Result<HashMap<Oid, u64>, RemoteError> {
        let mut by_prefix: BTreeMap<String, Vec<(String, Oid)>> = BTreeMap::new();
        for oid in oids {
            let hex = oid.to_hex();
            by_prefix
                .entry(hex[..2].to_string())
                .or_default()
                .push((hex[2..].to_string(), *oid));
        }
        let mut held = HashMap::new();
        for (prefix, wanted) in by_prefix {
            let dir = self.root.join(&prefix);
            let rd = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.failed("cannot list", &dir, e)),
            };
            let mut names = HashSet::new();
            for ent in rd {
                let ent = ent.map_err(|e| self.failed("cannot list", &dir, e))?;
                if let Ok(name) = ent.file_name().into_string() {
                    names.insert(name);
                }
            }
            for (rest, oid) in wanted {
                if !names.contains(&rest) {
                    continue;
                }
                if let Ok(m) = fs::symlink_metadata(dir.join(&rest)) {
                    if m.is_file() {
                        held.insert(oid, m.len());
                    }
                }
            }
        }
        Ok(held)
    }

    /// A locked temp file in `dir`, creating `dir` only when it is not
    /// there yet (one syscall per upload in the common case, not three).
    fn temp_in(&self, dir: &Path) -> Result<tempfile::NamedTempFile, RemoteError> {
        match cache::locked_temp(dir, TEMP_PREFIX) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(|e| self.failed("cannot create", dir, e))?;
                cache::locked_temp(dir, TEMP_PREFIX)
            }
            other => other,
        }
        .map_err(|e| self.failed("cannot create a temp file in", dir, e))
    }

    /// Content leaving the cache is checked as it goes, here rather than in
    /// a pass of the engine's own (see [`Remote::upload_verifies`]): a small
    /// object is read once, hashed and written from the same buffer
    /// ([`Cache::read_checked`]); a larger one is copied by the kernel
    /// (`copy_file_range`, a reflink where the filesystem can) while a
    /// second thread hashes it ([`Cache::copy_verified_into`]). A mismatch
    /// quarantines the
    /// object and leaves nothing on the remote. No fsync: like the cache,
    /// a remote object appears by rename, whole or not at all.
    fn upload_blocking(&self, oid: &Oid, size: u64, cache: &Cache) -> Result<(), RemoteError> {
        let dest = self.path(oid);
        let dir = dest.parent().expect("object paths have a parent");
        let tmp = self.temp_in(dir)?;
        match (size <= IN_MEMORY)
            .then(|| cache.read_checked(oid, size))
            .transpose()?
        {
            Some(Checked::Bytes(buf)) => {
                tmp.as_file()
                    .write_all(&buf)
                    .map_err(|e| self.failed("cannot write", tmp.path(), e))?;
            }
            _ => {
                cache.copy_verified_into(oid, size, tmp.as_file())?;
            }
        }
        let _ = tmp
            .as_file()
            .set_permissions(fs::Permissions::from_mode(0o444));
        tmp.persist(&dest)
            .map_err(|e| self.failed("cannot move into place", &dest, e.error))?;
        Ok(())
    }
}

#[async_trait]
impl Remote for DirRemote {
    fn name(&self) -> &str {
        &self.name
    }

    async fn contains(&self, oid: &Oid, size: Option<u64>) -> Result<bool, RemoteError> {
        Ok(fs::metadata(self.path(oid))
            .is_ok_and(|m| m.is_file() && size.is_none_or(|s| s == m.len())))
    }

    async fn held(&self, oids: &[Oid]) -> Result<Option<HashMap<Oid, u64>>, RemoteError> {
        let oids = oids.to_vec();
        self.blocking(move |r| r.held_blocking(&oids).map(Some))
            .await
    }

    fn upload_verifies(&self, _size: u64) -> bool {
        true
    }

    /// No network to wait on here: what a transfer holds is memory (an
    /// object up to [`IN_MEMORY`] is read whole) or the disk (a bigger one
    /// streams through the kernel). A slot per MiB held keeps `jobs`
    /// transfers of small objects going with a few MiB of buffers at most,
    /// and big ones run [`BIG_COPIES`] at a time.
    fn slots_for(&self, size: u64) -> usize {
        match size <= IN_MEMORY {
            true => 1 + (size >> 20) as usize,
            false => crate::config::DEFAULT_JOBS / BIG_COPIES,
        }
    }

    async fn download(
        &self,
        oid: &Oid,
        size: Option<u64>,
        cache: &Cache,
    ) -> Result<u64, RemoteError> {
        let (oid, cache) = (*oid, cache.clone());
        self.blocking(move |r| r.download_blocking(&oid, size, &cache))
            .await
    }

    fn download_here(
        &self,
        oid: &Oid,
        size: Option<u64>,
        cache: &Cache,
    ) -> Option<Result<u64, RemoteError>> {
        Some(self.download_blocking(oid, size, cache))
    }

    async fn upload(&self, oid: &Oid, size: u64, cache: &Cache) -> Result<(), RemoteError> {
        let (oid, cache) = (*oid, cache.clone());
        self.blocking(move |r| r.upload_blocking(&oid, size, &cache))
            .await
    }

    async fn delete(&self, oid: &Oid) -> Result<(), RemoteError> {
        let path = self.path(oid);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failed("cannot remove", &path, e)),
        }
    }

    async fn remove_stale_temps(&self) -> Result<(usize, u64), RemoteError> {
        let root = self.root.clone();
        self.blocking(move |_| {
            let mut total = (0, 0);
            let Ok(rd) = fs::read_dir(&root) else {
                return Ok(total);
            };
            for ent in rd.flatten() {
                if ent.file_name().len() == 2 && ent.file_type().is_ok_and(|t| t.is_dir()) {
                    let (n, b) = cache::remove_stale_temps_in(&ent.path(), TEMP_PREFIX)?;
                    total = (total.0 + n, total.1 + b);
                }
            }
            Ok(total)
        })
        .await
    }

    async fn list(&self) -> Result<Vec<(Oid, Option<u64>)>, RemoteError> {
        self.blocking(|r| r.list_blocking()).await
    }

    async fn get_raw(
        &self,
        key: &str,
        w: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, RemoteError> {
        let path = self.root.join(key);
        let mut file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(self.not_found(RemoteError::KeyNotFound {
                    key: key.to_string(),
                    remote: self.name.clone(),
                }));
            }
            Err(e) => return Err(self.failed("cannot open", &path, e)),
        };
        tokio::task::block_in_place(|| cache::copy(&mut file, w)).map_err(super::sink_err)
    }
}
