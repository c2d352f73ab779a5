//! The local content-addressed cache: `<root>/<oid[0..2]>/<oid[2..]>`.
//!
//! Objects appear atomically (written to a temp file inside the cache, then
//! renamed), are never modified in place, and are read-only on disk, so a
//! reader either sees a whole verified object or none at all, and a crash at
//! any point leaves at worst a stray temp file.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::oid::{HashingWriter, Oid};

/// Errors from the cache, each naming the object or path involved.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The object is not in the cache.
    #[error("object {0} is not in the cache")]
    Missing(Oid),
    /// The object file exists but has the wrong length: it is corrupt.
    #[error("cached object {oid} has {actual} bytes, expected {expected} ({path})")]
    WrongSize {
        /// The object.
        oid: Oid,
        /// The length recorded in the pointer.
        expected: u64,
        /// The length on disk.
        actual: u64,
        /// Where it is.
        path: PathBuf,
    },
    /// The content written did not hash to the id it was announced as.
    #[error("content for {expected} hashed to {actual}; nothing was stored")]
    Mismatch {
        /// The announced id.
        expected: Oid,
        /// What the bytes hashed to.
        actual: Oid,
    },
    /// The object had the wrong length and has been moved out of the cache.
    #[error("cached object {oid} has {actual} bytes, expected {expected}; moved to {}", .quarantined.display())]
    Truncated {
        /// The object.
        oid: Oid,
        /// The length recorded in the pointer.
        expected: u64,
        /// The length it had.
        actual: u64,
        /// Where it went.
        quarantined: PathBuf,
    },
    /// The object's bytes do not hash to its id (bit rot, a bad disk, a
    /// hand edit). It has been moved out of the cache so it is never served
    /// again; a fetch brings a good copy back.
    #[error("cached object {oid} is corrupt (its content hashes to {actual}); moved to {}", .quarantined.display())]
    Corrupt {
        /// The object.
        oid: Oid,
        /// What its bytes hash to.
        actual: Oid,
        /// Where it went.
        quarantined: PathBuf,
    },
    /// An I/O error on a path in the cache.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Maps an I/O error on `path` to [`CacheError::Io`], saying what was done.
pub(crate) fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> CacheError + 'a {
    move |source| CacheError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A handle on a cache directory. Cheap to clone; holds no open files
/// (but the [twins](Cache::with_twins) it keeps, when asked to).
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
    twins: Option<std::sync::Arc<Twins>>,
}

/// Twins kept at once, at most: each is an open file (a clone's
/// thousands of small files must not run out of descriptors), and
/// whoever waits for one copies from the object instead.
const MAX_TWINS: usize = 64;

/// Below this size a twin is written through a buffer: a reflink of a
/// file just written would first flush it to disk.
const TWIN_BY_KERNEL: u64 = 8 << 20;

/// The objects whose twins are wanted (`None`) or made (`Some`).
#[derive(Debug, Default)]
struct Twins {
    wanted: std::sync::Mutex<std::collections::HashMap<Oid, Option<tempfile::NamedTempFile>>>,
}

impl Cache {
    /// A cache rooted at `root` (created lazily on first write).
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache {
            root: root.into(),
            twins: None,
        }
    }

    /// This cache, also keeping a *twin* of each object it is told to
    /// ([`Cache::want_twin`]) as the object enters: a copy of the bytes
    /// just checked against the id, in a locked temp file of the cache,
    /// which a checkout renames over the object's pointer file
    /// ([`Cache::take_twin`]) instead of copying the object out and
    /// hashing it a second time. A clone of a big file then hashes it once,
    /// as it downloads. Shared by this handle's clones; a twin nobody takes
    /// is deleted with the last of them (or, after a kill, by gc).
    pub fn with_twins(mut self) -> Cache {
        self.twins = Some(std::sync::Arc::default());
        self
    }

    /// Asks for a twin of `oid` when it is next stored (a download about to
    /// start, for a worktree file). Does nothing without
    /// [`Cache::with_twins`].
    pub fn want_twin(&self, oid: &Oid) {
        if let Some(t) = &self.twins {
            if let Ok(mut w) = t.wanted.lock() {
                w.entry(*oid).or_insert(None);
            }
        }
    }

    /// Takes the twin of `oid`, if one was made: a temp file in
    /// [`Cache::tmp_dir`] holding exactly the object's checked content.
    /// The wish is forgotten either way.
    pub fn take_twin(&self, oid: &Oid) -> Option<tempfile::NamedTempFile> {
        self.twins
            .as_ref()?
            .wanted
            .lock()
            .ok()?
            .remove(oid)
            .flatten()
    }

    /// The twin of `oid` (see [`Cache::take_twin`]) when a rename can make
    /// it a file of `size` bytes on device `dev`. One of another size (a
    /// pointer naming the wrong size) or on another filesystem is dropped:
    /// the caller copies from the object, which checks the size and says
    /// what is wrong.
    pub fn take_twin_for(&self, oid: &Oid, size: u64, dev: u64) -> Option<tempfile::NamedTempFile> {
        use std::os::unix::fs::MetadataExt;
        let twin = self.take_twin(oid)?;
        let m = twin.as_file().metadata().ok()?;
        (m.len() == size && m.dev() == dev).then_some(twin)
    }

    /// Makes the twin of `oid` from `file`, its checked content, when one
    /// is wanted. A twin that cannot be made is not: whoever wanted it
    /// copies from the object.
    fn make_twin(&self, file: &File, oid: &Oid, len: u64) {
        let Some(twin) = self.start_twin(oid) else {
            return;
        };
        // Copied without the lock: other downloads want theirs meanwhile.
        let copied = match len < TWIN_BY_KERNEL {
            true => crate::fsutil::copy_buffered(file, twin.as_file(), 0, len),
            false => crate::fsutil::clone_or_copy(file, twin.as_file(), len).map(drop),
        };
        match copied {
            Ok(()) => self.keep_twin(oid, twin),
            Err(_) => drop(self.take_twin(oid)),
        }
    }

    /// An empty temp file for the twin of `oid`, when one is wanted and
    /// fewer than [`MAX_TWINS`] are kept.
    fn start_twin(&self, oid: &Oid) -> Option<tempfile::NamedTempFile> {
        let t = self.twins.as_ref()?;
        {
            let w = t.wanted.lock().ok()?;
            let room = w.values().filter(|t| t.is_some()).count() < MAX_TWINS;
            if !(room && matches!(w.get(oid), Some(None))) {
                return None;
            }
        }
        let tmp = self.tmp_dir();
        locked_temp(&tmp, "incoming-")
            .or_else(|_| {
                fs::create_dir_all(&tmp)?;
                locked_temp(&tmp, "incoming-")
            })
            .ok()
    }

    /// Keeps `twin`, a whole copy of checked object `oid`, if still wanted.
    fn keep_twin(&self, oid: &Oid, twin: tempfile::NamedTempFile) {
        let Some(t) = &self.twins else {
            return;
        };
        if let Ok(mut w) = t.wanted.lock() {
            if let Some(slot @ None) = w.get_mut(oid) {
                *slot = Some(twin);
            }
        }
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where object `oid` lives (whether or not it is there).
    pub fn object_path(&self, oid: &Oid) -> PathBuf {
        let hex = oid.to_hex();
        self.root.join(&hex[..2]).join(&hex[2..])
    }

    /// The directory for temp files; inside the cache so a rename is atomic.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// True when the object is present (its content is not checked).
    pub fn contains(&self, oid: &Oid) -> bool {
        fs::symlink_metadata(self.object_path(oid)).is_ok_and(|m| m.is_file())
    }

    /// Opens an object for reading, checking that its length matches the
    /// pointer: a truncated object is reported, never served.
    pub fn open(&self, oid: &Oid, size: u64) -> Result<File, CacheError> {
        let path = self.object_path(oid);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(CacheError::Missing(*oid)),
            Err(e) => return Err(io_err("cannot open", &path)(e)),
        };
        let actual = file.metadata().map_err(io_err("cannot stat", &path))?.len();
        if actual != size {
            return Err(CacheError::WrongSize {
                oid: *oid,
                expected: size,
                actual,
                path,
            });
        }
        Ok(file)
    }

    /// Opens an object whose every byte is checked against its id as it is
    /// read: the reader fails at end of input (before a caller could commit
    /// what it copied) when the content is not the object's, and the object
    /// is quarantined. Content leaving the cache goes through this or
    /// [`Cache::read_checked`]; hashing as the bytes stream costs one SHA-256
    /// pass and no extra read.
    pub fn open_verified(&self, oid: &Oid, size: u64) -> Result<VerifiedReader, CacheError> {
        let file = self.open_or_quarantine(oid, size)?;
        Ok(VerifiedReader {
            cache: self.clone(),
            oid: *oid,
            inner: file,
            hasher: crate::oid::Hasher::new(),
            done: false,
        })
    }

    /// [`Cache::open`], but an object of the wrong size is quarantined.
    pub fn open_or_quarantine(&self, oid: &Oid, size: u64) -> Result<File, CacheError> {
        match self.open(oid, size) {
            Err(CacheError::WrongSize {
                oid,
                expected,
                actual,
                ..
            }) => {
                let quarantined = self.quarantine(&oid)?;
                Err(CacheError::Truncated {
                    oid,
                    expected,
                    actual,
                    quarantined,
                })
            }
            other => other,
        }
    }

    /// Checks an object before any of it is handed on, for consumers that
    /// cannot take bytes back once sent (Git's smudge pipe, an upload):
    /// small objects come back in memory after one read, larger ones as the
    /// file, rewound after a hashing pass (the second read comes from the
    /// page cache). A corrupt object is quarantined.
    pub fn read_checked(&self, oid: &Oid, size: u64) -> Result<Checked, CacheError> {
        let path = self.object_path(oid);
        let mut file = self.open_or_quarantine(oid, size)?;
        let read_err = io_err("cannot read", &path);
        if size <= CHECK_IN_MEMORY {
            let mut bytes = Vec::with_capacity(size as usize);
            (&mut file)
                .take(size + 1)
                .read_to_end(&mut bytes)
                .map_err(read_err)?;
            self.expect_hash(oid, Oid::hash_bytes(&bytes))?;
            return Ok(Checked::Bytes(bytes));
        }
        let (actual, _) = Oid::hash_reader(&mut file).map_err(read_err)?;
        self.expect_hash(oid, actual)?;
        file.rewind().map_err(io_err("cannot read", &path))?;
        Ok(Checked::File(file))
    }

    /// Checks an object without reading it out (push checks before upload).
    pub fn verify(&self, oid: &Oid, size: u64) -> Result<(), CacheError> {
        let path = self.object_path(oid);
        let file = self.open_or_quarantine(oid, size)?;
        let (actual, _) = Oid::hash_reader(file).map_err(io_err("cannot read", &path))?;
        self.expect_hash(oid, actual)
    }

    /// Makes the empty file `dst` a copy of object `oid` without passing
    /// its bytes through this process (a reflink, else the kernel's copy),
    /// checked as it goes: a second thread hashes the object while the
    /// kernel copies, so the check costs one read in parallel rather than
    /// a pass before. A corrupt object is quarantined and `dst` must then be
    /// thrown away.
    pub fn copy_verified_into(
        &self,
        oid: &Oid,
        size: u64,
        dst: &File,
    ) -> Result<crate::fsutil::CopyKind, CacheError> {
        let src = self.open_or_quarantine(oid, size)?;
        let path = self.object_path(oid);
        let write_err = |e| CacheError::Io {
            action: "cannot write a copy of",
            path: path.clone(),
            source: e,
        };
        let (copied, hashed) =
            hash_beside(&src, size, || crate::fsutil::clone_or_copy(&src, dst, size));
        let kind = copied.map_err(write_err)?;
        self.expect_hash(oid, hashed.map_err(io_err("cannot read", &path))?)?;
        Ok(kind)
    }

    /// Stores the `len` bytes of `src` (a file elsewhere: a directory
    /// remote's object) as object `expected`: copied by the kernel a chunk
    /// at a time into a [`RangedWriter`], whose thread hashes each chunk
    /// back from the page cache as it lands, so what is checked is what was
    /// stored, and the check runs beside the copy.
    pub fn insert_copy_verified(
        &self,
        expected: &Oid,
        src: &File,
        len: u64,
    ) -> Result<u64, CacheError> {
        const CHUNK: u64 = 16 << 20;
        if self.contains(expected) {
            return Ok(len);
        }
        let w = self.ranged_writer(expected)?;
        let mut at = 0;
        while at < len {
            let n = CHUNK.min(len - at);
            w.copy_from(src, at, n)
                .map_err(io_err("cannot write an object into", w.file.path()))?;
            w.done(at..at + n);
            at += n;
        }
        w.commit_expecting(expected)
    }

    /// Checks that `actual`, what an object's bytes hashed to, is its id;
    /// quarantines it when not.
    pub fn expect_hash(&self, oid: &Oid, actual: Oid) -> Result<(), CacheError> {
        if actual == *oid {
            return Ok(());
        }
        let quarantined = self.quarantine(oid)?;
        Err(CacheError::Corrupt {
            oid: *oid,
            actual,
            quarantined,
        })
    }

    /// Where corrupt objects are kept for inspection: out of the object
    /// layout (so nothing serves them), inside the cache (so nothing is lost).
    pub fn quarantine_dir(&self) -> PathBuf {
        self.root.join("quarantine")
    }

    /// Moves a corrupt object to the quarantine; returns where it went.
    pub fn quarantine(&self, oid: &Oid) -> Result<PathBuf, CacheError> {
        let dir = self.quarantine_dir();
        fs::create_dir_all(&dir).map_err(io_err("cannot create", &dir))?;
        let dest = dir.join(oid.to_hex());
        let src = self.object_path(oid);
        match fs::rename(&src, &dest) {
            Ok(()) => Ok(dest),
            // Another reader quarantined it first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(dest),
            Err(e) => Err(io_err("cannot quarantine", &src)(e)),
        }
    }

    /// Starts writing a new object whose id is not known yet (the clean
    /// filter): the id comes out of [`ObjectWriter::commit`].
    pub fn writer(&self) -> Result<ObjectWriter, CacheError> {
        let tmp = self.tmp_dir();
        fs::create_dir_all(&tmp).map_err(io_err("cannot create", &tmp))?;
        let file =
            locked_temp(&tmp, "incoming-").map_err(io_err("cannot create a temp file in", &tmp))?;
        Ok(ObjectWriter {
            cache: self.clone(),
            inner: HashingWriter::new(file),
        })
    }

    /// Starts writing object `oid` in pieces at their offsets, in any
    /// order (a download in parts); see [`RangedWriter`].
    pub fn ranged_writer(&self, oid: &Oid) -> Result<RangedWriter, CacheError> {
        let tmp = self.tmp_dir();
        fs::create_dir_all(&tmp).map_err(io_err("cannot create", &tmp))?;
        let file =
            locked_temp(&tmp, "incoming-").map_err(io_err("cannot create a temp file in", &tmp))?;
        let reader = file
            .as_file()
            .try_clone()
            .map_err(io_err("cannot open", file.path()))?;
        let (tx, rx) = std::sync::mpsc::channel::<u64>();
        // The hashing pass runs beside the download: whenever the written
        // prefix grows, the new bytes are read back (from the page cache)
        // and hashed, so little is left to hash when the last part lands.
        let hasher = std::thread::Builder::new()
            .name("git-dvc-hash".into())
            .spawn(move || {
                let mut h = crate::oid::Hasher::new();
                let mut at = 0;
                for upto in rx {
                    hash_range(&reader, &mut h, at, upto)?;
                    at = upto;
                }
                Ok((h, at, reader))
            })
            .map_err(io_err("cannot start hashing for", &tmp))?;
        Ok(RangedWriter {
            cache: self.clone(),
            file,
            written: std::sync::Mutex::new(Written::default()),
            tx: Some(tx),
            hasher: Some(hasher),
            twin: self.start_twin(oid),
            twin_bytes: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Stores everything `reader` yields, returning its id and length.
    pub fn insert_reader(&self, reader: &mut impl Read) -> Result<(Oid, u64), CacheError> {
        let mut w = self.writer()?;
        let tmp = self.tmp_dir();
        copy(reader, &mut w).map_err(io_err("cannot write an object into", &tmp))?;
        w.commit()
    }

    /// Stores content that must hash to `expected` (downloads, imports): on a
    /// mismatch nothing is stored.
    pub fn insert_verified(
        &self,
        expected: &Oid,
        reader: &mut impl Read,
    ) -> Result<u64, CacheError> {
        let mut w = self.writer_for(expected)?;
        let path = self.object_path(expected);
        copy(reader, &mut w).map_err(io_err("cannot write an object into", &path))?;
        w.commit_expecting(expected)
    }

    /// Starts writing an object whose id is known (a download): the temp
    /// file goes beside where the object will be (`<xx>/.incoming-*`), not
    /// in the shared `tmp/`. Thousands of small downloads at once then
    /// spread over 256 directories instead of all taking one directory's
    /// lock (the creations and renames in `tmp/` were a tenth of a clone's
    /// time), and the rename stays within one directory.
    pub fn writer_for(&self, oid: &Oid) -> Result<ObjectWriter, CacheError> {
        let file = self.object_temp(oid)?;
        Ok(ObjectWriter {
            cache: self.clone(),
            inner: HashingWriter::new(file),
        })
    }

    /// Stores `bytes`, already in memory (a small download), if they hash to
    /// `expected`: hashed before anything touches the disk, then written in
    /// one call, made read-only and renamed into place. A mismatch creates
    /// no file at all.
    pub fn insert_verified_bytes(&self, expected: &Oid, bytes: &[u8]) -> Result<u64, CacheError> {
        let actual = Oid::hash_bytes(bytes);
        if actual != *expected {
            return Err(CacheError::Mismatch {
                expected: *expected,
                actual,
            });
        }
        if self.contains(expected) {
            return Ok(bytes.len() as u64);
        }
        let mut file = self.object_temp(expected)?;
        let path = file.path().to_path_buf();
        file.write_all(bytes)
            .map_err(io_err("cannot write an object into", &path))?;
        // A wanted twin is written from the same checked bytes, not read
        // back from the file just written.
        let twin = self
            .start_twin(expected)
            .and_then(|mut t| t.write_all(bytes).ok().map(|()| t));
        self.install(file, expected, bytes.len() as u64, twin)?;
        Ok(bytes.len() as u64)
    }

    /// A locked temp file in the directory of object `oid`, created (with
    /// the directory, the first time) in one syscall in the common case.
    fn object_temp(&self, oid: &Oid) -> Result<tempfile::NamedTempFile, CacheError> {
        let dest = self.object_path(oid);
        let dir = dest.parent().expect("object paths have a parent");
        match locked_temp(dir, OBJECT_TEMP_PREFIX) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(io_err("cannot create", dir))?;
                locked_temp(dir, OBJECT_TEMP_PREFIX)
            }
            other => other,
        }
        .map_err(io_err("cannot create a temp file in", dir))
    }

    /// Removes an object (gc). Read-only files can be unlinked: the
    /// directory's permissions are what count.
    pub fn remove(&self, oid: &Oid) -> Result<(), CacheError> {
        let path = self.object_path(oid);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("cannot remove", &path)(e)),
        }
    }

    /// Removes the temp files that interrupted writers (a killed `git add`,
    /// fetch or push) left behind; those of running writers are kept.
    /// Returns how many files and bytes went.
    pub fn remove_stale_temps(&self) -> Result<(usize, u64), CacheError> {
        let mut total = remove_stale_temps_in(&self.tmp_dir(), "incoming-")?;
        // Downloads write beside their object (see `writer_for`).
        let Ok(rd) = fs::read_dir(&self.root) else {
            return Ok(total);
        };
        for ent in rd.flatten() {
            if ent.file_name().len() == 2 && ent.file_type().is_ok_and(|t| t.is_dir()) {
                let (n, b) = remove_stale_temps_in(&ent.path(), OBJECT_TEMP_PREFIX)?;
                total = (total.0 + n, total.1 + b);
            }
        }
        Ok(total)
    }

    /// Every object id present, in no particular order. Stray files (temp
    /// files, names that are not ids) are skipped.
    pub fn list(&self) -> Result<Vec<Oid>, CacheError> {
        Ok(self.walk(false)?.into_iter().map(|(o, _)| o).collect())
    }

    /// [`Cache::list`] with each object's size (a stat each; `None` when
    /// the object went meanwhile): what a directory remote lists.
    pub fn list_sized(&self) -> Result<Vec<(Oid, Option<u64>)>, CacheError> {
        self.walk(true)
    }

    fn walk(&self, sized: bool) -> Result<Vec<(Oid, Option<u64>)>, CacheError> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_err("cannot list", &self.root)(e)),
        };
        for dir in rd.flatten() {
            let prefix = dir.file_name();
            let Some(prefix) = prefix.to_str().filter(|p| p.len() == 2) else {
                continue;
            };
            let Ok(inner) = fs::read_dir(dir.path()) else {
                continue;
            };
            for ent in inner.flatten() {
                if let Some(rest) = ent.file_name().to_str() {
                    if let Some(oid) = Oid::from_hex(&format!("{prefix}{rest}")) {
                        let size = sized.then(|| ent.metadata().ok().map(|m| m.len()));
                        out.push((oid, size.flatten()));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Of `oids`, those whose object does not hash to its id (or cannot be
    /// read), re-hashing on every core at once (`git dvc fsck`), in the
    /// order given.
    pub fn corrupt_objects(&self, oids: &[Oid]) -> Vec<Oid> {
        let workers = std::thread::available_parallelism()
            .map(std::num::NonZero::get)
            .unwrap_or(2);
        let intact = crate::par_map(oids, workers, |oid| {
            fs::File::open(self.object_path(oid))
                .map(Oid::hash_reader)
                .ok()
                .and_then(Result::ok)
                .is_some_and(|(actual, _)| actual == *oid)
        });
        oids.iter()
            .zip(intact)
            .filter(|(_, ok)| !ok)
            .map(|(oid, _)| *oid)
            .collect()
    }
}

/// Temp files of downloads, beside their object: `<xx>/.incoming-*`. The
/// dot and the dash keep them out of [`Cache::list`] (not an id).
const OBJECT_TEMP_PREFIX: &str = ".incoming-";

/// Objects up to this size are checked in memory before they are served.
pub const CHECK_IN_MEMORY: u64 = 4 << 20;

/// An object checked by [`Cache::read_checked`].
pub enum Checked {
    /// The whole content (small objects).
    Bytes(Vec<u8>),
    /// The object file, positioned at its start.
    File(File),
}

/// A reader over a cache object that hashes what it yields and fails at
/// the end when the content is not the object's (see [`Cache::open_verified`]).
pub struct VerifiedReader {
    cache: Cache,
    oid: Oid,
    inner: File,
    hasher: crate::oid::Hasher,
    done: bool,
}

impl Read for VerifiedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.hasher.update(&buf[..n]);
        } else if !self.done && !buf.is_empty() {
            self.done = true;
            let actual = std::mem::take(&mut self.hasher).finish();
            if let Err(e) = self.cache.expect_hash(&self.oid, actual) {
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        Ok(n)
    }
}

/// Splits the corruption a [`VerifiedReader`] reported out of an I/O error
/// (`Ok`), or gives the error back (`Err`) when it is an ordinary one.
// The closures read better than `<dyn Error + Send + Sync>::is::<…>` paths.
#[allow(clippy::redundant_closure_for_method_calls)]
pub fn corruption(e: io::Error) -> Result<CacheError, io::Error> {
    if !e.get_ref().is_some_and(|inner| inner.is::<CacheError>()) {
        return Err(e);
    }
    match e.into_inner().map(|inner| inner.downcast::<CacheError>()) {
        Some(Ok(c)) => Ok(*c),
        Some(Err(inner)) => Err(io::Error::other(inner)),
        None => Err(io::Error::other("unknown error")),
    }
}

/// A new object being written: content goes to a temp file in the cache and
/// through SHA-256 in the same pass.
pub struct ObjectWriter {
    cache: Cache,
    inner: HashingWriter<tempfile::NamedTempFile>,
}

impl ObjectWriter {
    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// True when nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Finishes the object: if the cache already has it, the temp file is
    /// dropped and the stored object is left untouched; otherwise the temp
    /// file is made read-only and renamed into place.
    pub fn commit(self) -> Result<(Oid, u64), CacheError> {
        let (file, oid, len) = self.inner.finish();
        self.cache.install(file, &oid, len, None)?;
        Ok((oid, len))
    }

    /// Like [`commit`](Self::commit) but refuses content that does not hash
    /// to `expected`.
    pub fn commit_expecting(self, expected: &Oid) -> Result<u64, CacheError> {
        let (file, oid, len) = self.inner.finish();
        if oid != *expected {
            return Err(CacheError::Mismatch {
                expected: *expected,
                actual: oid,
            });
        }
        self.cache.install(file, &oid, len, None)?;
        Ok(len)
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Runs `copy` while a second thread hashes the first `len` bytes of `src`
/// (positional reads: the copy's offsets are its own); returns both
/// outcomes. A source shorter than `len` hashes short and so mismatches.
fn hash_beside<T>(
    src: &File,
    len: u64,
    copy: impl FnOnce() -> io::Result<T>,
) -> (io::Result<T>, io::Result<Oid>) {
    std::thread::scope(|s| {
        let hasher = s.spawn(|| {
            let mut h = crate::oid::Hasher::new();
            hash_range(src, &mut h, 0, len).map(|()| h.finish())
        });
        let copied = copy();
        let hashed = hasher
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the hashing thread failed")));
        (copied, hashed)
    })
}

/// Hashes bytes `from..to` of `file` into `h`.
fn hash_range(file: &File, h: &mut crate::oid::Hasher, from: u64, to: u64) -> io::Result<()> {
    crate::fsutil::read_chunks_at(file, from, to, |chunk, _| {
        h.update(chunk);
        Ok(())
    })
    .map(drop)
}

/// The parts of a [`RangedWriter`] written so far: the prefix without
/// holes, and the parts beyond it.
#[derive(Default)]
struct Written {
    prefix: u64,
    beyond: std::collections::BTreeMap<u64, u64>,
}

type HashOutcome = io::Result<(crate::oid::Hasher, u64, File)>;

/// A new object written in pieces at their offsets, in any order: a
/// download in parts. Like [`ObjectWriter`], the bytes go to a locked temp
/// file in the cache (a killed download leaves only that, which gc
/// removes), and the object enters the cache only through
/// [`RangedWriter::commit_expecting`], when the whole file hashes to its
/// id. Each finished part is announced with [`RangedWriter::done`]; the
/// prefix without holes is hashed as it grows, on a thread of its own.
pub struct RangedWriter {
    cache: Cache,
    file: tempfile::NamedTempFile,
    written: std::sync::Mutex<Written>,
    tx: Option<std::sync::mpsc::Sender<u64>>,
    hasher: Option<std::thread::JoinHandle<HashOutcome>>,
    /// The object's twin, when one is wanted: each part is copied into
    /// it as it is announced done, on the downloading thread, while the
    /// hashing thread reads it.
    twin: Option<tempfile::NamedTempFile>,
    /// Bytes copied into the twin: it is kept only if that is all of them
    /// (a part whose copy failed is missing from the count).
    twin_bytes: std::sync::atomic::AtomicU64,
}

impl RangedWriter {
    /// Writes `buf` at `offset`. A part may be written again (a retry)
    /// until it is announced [`done`](Self::done), never after.
    pub fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(self.file.as_file(), buf, offset)
    }

    /// Copies bytes `offset..offset + len` of `src` to the same offsets,
    /// by the kernel (see [`crate::fsutil::copy_range`]).
    pub fn copy_from(&self, src: &File, offset: u64, len: u64) -> io::Result<()> {
        crate::fsutil::copy_range(src, self.file.as_file(), offset, len).map(drop)
    }

    /// Announces that bytes `range` are written for good.
    pub fn done(&self, range: std::ops::Range<u64>) {
        self.mark_done(&range);
        if let Some(twin) = &self.twin {
            let (from, len) = (range.start, range.end - range.start);
            if crate::fsutil::copy_range(self.file.as_file(), twin.as_file(), from, len).is_ok() {
                self.twin_bytes
                    .fetch_add(len, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Adds `range` to what is written, and tells the hashing thread when
    /// the prefix without holes grew.
    fn mark_done(&self, range: &std::ops::Range<u64>) {
        let mut w = self.written.lock().expect("not poisoned");
        if range.start > w.prefix {
            w.beyond.insert(range.start, range.end);
            return;
        }
        w.prefix = w.prefix.max(range.end);
        loop {
            let prefix = w.prefix;
            let Some((&start, &end)) = w.beyond.first_key_value() else {
                break;
            };
            if start > prefix {
                break;
            }
            w.beyond.remove(&start);
            w.prefix = prefix.max(end);
        }
        if let Some(tx) = &self.tx {
            // A hasher that stopped on an error reports it at commit.
            let _ = tx.send(w.prefix);
        }
    }

    /// Finishes the object: the file is hashed to its end (what the
    /// hashing thread has not done yet) and, when it hashes to `expected`,
    /// renamed into place; otherwise nothing is stored. Returns its length.
    pub fn commit_expecting(mut self, expected: &Oid) -> Result<u64, CacheError> {
        let path = self.file.path().to_path_buf();
        let read_err = io_err("cannot read", &path);
        drop(self.tx.take());
        let outcome = self
            .hasher
            .take()
            .expect("joined once")
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the hashing thread panicked")));
        let (mut h, at, reader) = outcome.map_err(read_err)?;
        let len = reader
            .metadata()
            .map_err(io_err("cannot stat", &path))?
            .len();
        hash_range(&reader, &mut h, at, len).map_err(io_err("cannot read", &path))?;
        let actual = h.finish();
        if actual != *expected {
            return Err(CacheError::Mismatch {
                expected: *expected,
                actual,
            });
        }
        // Every byte went into the twin, or it is not used.
        let whole = self.twin_bytes.load(std::sync::atomic::Ordering::Relaxed) == len;
        let twin = self.twin.take().filter(|_| whole);
        self.cache.install(self.file, expected, len, twin)?;
        Ok(len)
    }
}

impl Cache {
    /// Renames `file`, whose `len` bytes were checked to be object `oid`,
    /// into place; its twin first, if one is wanted: `twin` when the
    /// writer made one as it went, else a copy of `file`.
    fn install(
        &self,
        file: tempfile::NamedTempFile,
        oid: &Oid,
        len: u64,
        twin: Option<tempfile::NamedTempFile>,
    ) -> Result<(), CacheError> {
        match twin {
            Some(twin) => self.keep_twin(oid, twin),
            None => self.make_twin(file.as_file(), oid, len),
        }
        let dest = self.object_path(oid);
        if self.contains(oid) {
            return Ok(()); // dropping `file` removes the temp copy
        }
        let dir = dest.parent().expect("object paths have a parent");
        // A download's temp file is already there (see `writer_for`).
        if file.path().parent() != Some(dir) {
            fs::create_dir_all(dir).map_err(io_err("cannot create", dir))?;
        }
        let tmp_path = file.path().to_path_buf();
        file.as_file()
            .set_permissions(Permissions::from_mode(0o444))
            .map_err(io_err("cannot make read-only", &tmp_path))?;
        file.persist(&dest)
            .map_err(|e| io_err("cannot move an object to", &dest)(e.error))?;
        Ok(())
    }
}

/// A temp file in `dir` whose name starts with `prefix`, holding an
/// exclusive lock for as long as it is open. The lock is how
/// [`remove_stale_temps_in`] tells a running writer's file from one a killed
/// process left: the kernel drops the lock when the process dies.
pub fn locked_temp(dir: &Path, prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    let file = tempfile::Builder::new().prefix(prefix).tempfile_in(dir)?;
    rustix::fs::flock(file.as_file(), rustix::fs::FlockOperation::LockExclusive)?;
    Ok(file)
}

/// Deletes the files named `prefix*` in `dir` that no live process holds
/// locked (see [`locked_temp`]); returns how many and their bytes.
pub fn remove_stale_temps_in(dir: &Path, prefix: &str) -> Result<(usize, u64), CacheError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(io_err("cannot list", dir)(e)),
    };
    let (mut files, mut bytes) = (0, 0);
    for ent in rd.flatten() {
        let name = ent.file_name();
        if !name.to_str().is_some_and(|n| n.starts_with(prefix)) {
            continue;
        }
        let path = ent.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let Ok(f) = File::open(&path) else { continue };
        match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            // Held: a writer is still at work.
            Err(rustix::io::Errno::WOULDBLOCK) => continue,
            Err(e) => return Err(io_err("cannot lock", &path)(e.into())),
        }
        match fs::remove_file(&path) {
            Ok(()) => {
                files += 1;
                bytes += meta.len();
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("cannot remove", &path)(e)),
        }
    }
    Ok((files, bytes))
}

/// Copies with a large buffer; `std::io::copy` uses 8 KiB, which costs
/// measurably on multi-GiB files.
pub fn copy(r: &mut (impl Read + ?Sized), w: &mut (impl Write + ?Sized)) -> io::Result<u64> {
    let mut buf = crate::StreamBuf::new();
    let mut total = 0;
    loop {
        let n = match r.read(buf.get()) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf.get()[..n])?;
        buf.filled(n);
        total += n as u64;
    }
}

/// Opens `path` for writing a fresh file that replaces whatever is there
/// only when renamed over it.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_is_atomic_readonly_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let (oid, len) = cache.insert_reader(&mut &b"hello\n"[..]).unwrap();
        assert_eq!(len, 6);
        let path = cache.object_path(&oid);
        assert!(
            path.ends_with("58/91b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
        );
        assert_eq!(fs::read(&path).unwrap(), b"hello\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o444
        );
        let ino = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&path).unwrap());
        cache.insert_reader(&mut &b"hello\n"[..]).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(&path).unwrap()),
            ino
        );
        assert_eq!(
            fs::read_dir(cache.tmp_dir()).unwrap().count(),
            0,
            "no temp left"
        );
        assert_eq!(cache.list().unwrap(), vec![oid]);
    }

    #[test]
    fn verified_insert_refuses_wrong_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let want = Oid::from_hex(Oid::EMPTY_HEX).unwrap();
        let err = cache.insert_verified(&want, &mut &b"x"[..]).unwrap_err();
        assert!(matches!(err, CacheError::Mismatch { .. }));
        let err = cache.insert_verified_bytes(&want, b"x").unwrap_err();
        assert!(matches!(err, CacheError::Mismatch { .. }));
        assert!(cache.list().unwrap().is_empty());
        let dir = cache.object_path(&want).parent().unwrap().to_path_buf();
        let left = fs::read_dir(&dir).map(Iterator::count).unwrap_or(0);
        assert_eq!(left, 0, "no temp file left in {}", dir.display());
    }

    #[test]
    fn verified_inserts_write_beside_the_object_and_gc_sweeps_killed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let oid = Oid::hash_bytes(b"small");
        assert_eq!(cache.insert_verified_bytes(&oid, b"small").unwrap(), 5);
        assert_eq!(fs::read(cache.object_path(&oid)).unwrap(), b"small");
        let mode = fs::metadata(cache.object_path(&oid))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o444);
        // A writer that was killed leaves its temp beside the object; a
        // live one holds its lock.
        let other = Oid::hash_bytes(b"other");
        let live = cache.writer_for(&other).unwrap();
        let stale = cache.object_path(&oid).with_file_name(".incoming-killed");
        fs::write(&stale, b"half").unwrap();
        assert_eq!(cache.list().unwrap(), vec![oid], "temps are not objects");
        assert_eq!(cache.remove_stale_temps().unwrap(), (1, 4));
        assert!(!stale.exists());
        drop(live);
    }

    /// A twin is made only when wanted, only from content that hashed to
    /// its id, holds exactly that content, and is taken once; the temps
    /// it leaves untaken go with the cache handle.
    #[test]
    fn a_wanted_twin_holds_the_checked_bytes_and_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let small = b"small object".to_vec();
        let big: Vec<u8> = (0..TWIN_BY_KERNEL + 4099)
            .map(|i| (i % 251) as u8)
            .collect();
        let (s_oid, b_oid) = (Oid::hash_bytes(&small), Oid::hash_bytes(&big));

        let plain = Cache::new(dir.path());
        plain.want_twin(&s_oid);
        plain.insert_verified_bytes(&s_oid, &small).unwrap();
        assert!(plain.take_twin(&s_oid).is_none(), "no twins unless asked");

        let cache = Cache::new(dir.path().join("c")).with_twins();
        cache.want_twin(&s_oid);
        let wrong = cache.insert_verified_bytes(&s_oid, b"wrong bytes");
        assert!(matches!(wrong, Err(CacheError::Mismatch { .. })));
        cache.insert_verified_bytes(&s_oid, &small).unwrap();
        let twin = cache.take_twin(&s_oid).expect("a twin of the small object");
        assert_eq!(fs::read(twin.path()).unwrap(), small);
        assert!(twin.path().starts_with(cache.tmp_dir()));
        assert!(cache.take_twin(&s_oid).is_none(), "taken once");
        drop(twin);

        // Not wanted: none made. A big one is copied from its file.
        let src = dir.path().join("remote-object");
        fs::write(&src, &big).unwrap();
        let src = File::open(&src).unwrap();
        cache
            .insert_copy_verified(&b_oid, &src, big.len() as u64)
            .unwrap();
        assert!(cache.take_twin(&b_oid).is_none());
        cache.remove(&b_oid).unwrap();
        cache.want_twin(&b_oid);
        cache
            .insert_copy_verified(&b_oid, &src, big.len() as u64)
            .unwrap();
        let twin = cache.take_twin(&b_oid).expect("a twin of the big object");
        assert!(fs::read(twin.path()).unwrap() == big);

        // One left untaken is deleted with the last handle.
        cache.want_twin(&s_oid);
        cache.remove(&s_oid).unwrap();
        cache.clone().insert_verified_bytes(&s_oid, &small).unwrap();
        drop((twin, cache));
        let left: Vec<_> = fs::read_dir(dir.path().join("c/tmp")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// An object downloaded in parts that land out of order has a twin
    /// holding every part, and none when its parts do not hash to its id.
    #[test]
    fn a_download_in_parts_fills_its_twin_whatever_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path()).with_twins();
        let data: Vec<u8> = (0..30_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let oid = Oid::hash_bytes(&data);
        let parts = [20_000..30_000, 0..10_000, 10_000..20_000];
        let download = |bytes: &[u8]| {
            cache.want_twin(&oid);
            let w = cache.ranged_writer(&oid).unwrap();
            for r in parts.clone() {
                let (a, b) = (r.start as usize, r.end as usize);
                w.write_at(&bytes[a..b], r.start).unwrap();
                w.done(r);
            }
            w.commit_expecting(&oid)
        };
        let mut bad = data.clone();
        bad[15_000] ^= 1;
        assert!(matches!(download(&bad), Err(CacheError::Mismatch { .. })));
        assert!(cache.take_twin(&oid).is_none(), "no twin of wrong bytes");
        download(&data).unwrap();
        let twin = cache.take_twin(&oid).expect("a twin");
        assert!(fs::read(twin.path()).unwrap() == data);
    }

    #[test]
    fn open_checks_size() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let (oid, _) = cache.insert_reader(&mut &b"abc"[..]).unwrap();
        assert!(cache.open(&oid, 3).is_ok());
        assert!(matches!(
            cache.open(&oid, 4),
            Err(CacheError::WrongSize { .. })
        ));
        let other = Oid::from_hex(Oid::EMPTY_HEX).unwrap();
        assert!(matches!(cache.open(&other, 1), Err(CacheError::Missing(_))));
    }
}
