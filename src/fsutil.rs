//! Small filesystem helpers shared by the cache, config and checkout.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temp file beside it, then rename.
/// A reader never sees a half-written file, and a crash leaves the old one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".git-dvc-")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    // Keep the mode of the file being replaced (hooks must stay executable).
    if let Ok(meta) = fs::metadata(path) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Puts the finished temp file `tmp` at `dest` atomically, as a rename
/// would: at every instant `dest` is the old file or the new one.
///
/// Where `dest` exists the two are swapped (`RENAME_EXCHANGE`) and the old
/// file, now at the temp path, is removed. A plain rename over an existing
/// file makes ext4 (`auto_da_alloc`) start writing the new file's data out
/// before it returns — 0.4 s of a 1 GiB checkout spent waiting for a flush
/// nobody asked for; the swap leaves writeback to the kernel, as `cp` does.
pub fn replace(tmp: tempfile::NamedTempFile, dest: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    // Only a file is swapped out: a rename over a directory must still fail.
    if !fs::symlink_metadata(dest).is_ok_and(|m| m.is_file()) {
        return tmp.persist(dest).map(drop).map_err(|e| e.error);
    }
    match renameat_with(CWD, tmp.path(), CWD, dest, RenameFlags::EXCHANGE) {
        // The temp path now holds the old file; dropping it removes it.
        Ok(()) => Ok(()),
        // No file there (nothing to flush for), or a filesystem without
        // the swap: the ordinary rename.
        Err(_) => tmp.persist(dest).map(drop).map_err(|e| e.error),
    }
}

/// How [`clone_or_copy`] produced a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    /// The copy shares the source's extents (XFS, btrfs): no data moved.
    Reflink,
    /// The kernel copied the data (`copy_file_range`), never through
    /// this process's memory.
    Kernel,
    /// Read and written through a buffer (a filesystem that supports
    /// neither).
    Buffered,
}

/// Makes the empty file `dst` a copy of the first `len` bytes of `src`:
/// a reflink where the filesystem can share extents, else the kernel's
/// `copy_file_range`, else a buffered copy. Memory stays flat in every case.
pub fn clone_or_copy(src: &fs::File, dst: &fs::File, len: u64) -> io::Result<CopyKind> {
    if rustix::fs::ioctl_ficlone(dst, src).is_ok() {
        return Ok(CopyKind::Reflink);
    }
    copy_range(src, dst, 0, len)
}

/// Copies bytes `offset..offset + len` of `src` to the same offsets of
/// `dst`: the kernel's `copy_file_range` (which shares extents where the
/// filesystem can), else, from where the kernel stopped, positional reads
/// and writes through a buffer. A source that ends early is an error.
pub fn copy_range(src: &fs::File, dst: &fs::File, offset: u64, len: u64) -> io::Result<CopyKind> {
    let end = offset + len;
    let (mut off_in, mut off_out) = (offset, offset);
    let early = || io::Error::new(io::ErrorKind::UnexpectedEof, "the source ended early");
    while off_in < end {
        let chunk = usize::try_from(end - off_in)
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        match rustix::fs::copy_file_range(src, Some(&mut off_in), dst, Some(&mut off_out), chunk) {
            Ok(0) => return Err(early()),
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            // Not supported between these files: by hand, from here.
            Err(
                rustix::io::Errno::XDEV
                | rustix::io::Errno::NOSYS
                | rustix::io::Errno::INVAL
                | rustix::io::Errno::OPNOTSUPP,
            ) => {
                copy_buffered(src, dst, off_in, end - off_in)?;
                return Ok(CopyKind::Buffered);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(CopyKind::Kernel)
}

/// Copies bytes `offset..offset + len` of `src` to the same offsets of
/// `dst` through a buffer of at most [`crate::IO_BUF`] (for small files,
/// cheaper than asking the kernel). A source that ends early is an error.
pub fn copy_buffered(src: &fs::File, dst: &fs::File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let read = read_chunks_at(src, offset, offset + len, |chunk, at| {
        dst.write_all_at(chunk, at)
    })?;
    if read < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the source ended early",
        ));
    }
    Ok(())
}

/// Reads bytes `from..to` of `file` with positional reads (its offset is
/// left alone) through one buffer of at most [`crate::IO_BUF`], handing
/// each chunk and its offset to `each`; stops early at the end of the
/// file. Returns how many bytes were read.
pub fn read_chunks_at(
    file: &fs::File,
    from: u64,
    to: u64,
    mut each: impl FnMut(&[u8], u64) -> io::Result<()>,
) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let span = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; crate::IO_BUF.min(span(to.saturating_sub(from)))];
    let mut at = from;
    while at < to {
        let want = buf.len().min(span(to - at));
        let n = match file.read_at(&mut buf[..want], at) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        each(&buf[..n], at)?;
        at += n as u64;
    }
    Ok(at - from)
}

/// True for the errors of a filesystem or kernel that cannot share extents.
pub fn unsupported(e: &io::Error) -> bool {
    matches!(
        rustix::io::Errno::from_io_error(e),
        Some(
            rustix::io::Errno::OPNOTSUPP
                | rustix::io::Errno::INVAL
                | rustix::io::Errno::XDEV
                | rustix::io::Errno::NOTTY
                | rustix::io::Errno::NOSYS
        )
    )
}

/// `struct file_dedupe_range` with room for one destination.
#[repr(C)]
struct DedupeRange {
    src_offset: u64,
    src_length: u64,
    dest_count: u16,
    reserved1: u16,
    reserved2: u32,
    dest_fd: i64,
    dest_offset: u64,
    bytes_deduped: u64,
    status: i32,
    reserved: u32,
}

/// The header alone: the ioctl's number encodes its size.
#[repr(C)]
struct DedupeHeader {
    src_offset: u64,
    src_length: u64,
    dest_count: u16,
    reserved1: u16,
    reserved2: u32,
}

const FIDEDUPERANGE: rustix::ioctl::Opcode =
    rustix::ioctl::opcode::read_write::<DedupeHeader>(0x94, 54);

/// Makes the first `len` bytes of `dst` share `src`'s extents where their
/// bytes are equal (`FIDEDUPERANGE`; the kernel compares them under its
/// locks, in steps of at most 16 MiB). Returns the bytes now shared;
/// stops at the first range that differs.
#[allow(unsafe_code)]
pub fn dedupe(src: &fs::File, dst: &fs::File, len: u64) -> io::Result<u64> {
    use std::os::fd::AsRawFd;
    const STEP: u64 = 16 << 20;
    let mut done = 0;
    let mut retries = 0;
    while done < len {
        let mut range = DedupeRange {
            src_offset: done,
            src_length: (len - done).min(STEP),
            dest_count: 1,
            reserved1: 0,
            reserved2: 0,
            dest_fd: i64::from(dst.as_raw_fd()),
            dest_offset: done,
            bytes_deduped: 0,
            status: 0,
            reserved: 0,
        };
        // SAFETY: FIDEDUPERANGE reads a `file_dedupe_range` header followed
        // by `dest_count` (here 1) `file_dedupe_range_info` records and
        // writes their results; `DedupeRange` is exactly that layout
        // (repr(C)), lives for the call, and is not aliased.
        let called = unsafe {
            rustix::ioctl::ioctl(
                src,
                rustix::ioctl::Updater::<FIDEDUPERANGE, DedupeRange>::new(&mut range),
            )
        };
        let errno = match called {
            Err(e) => Some(e),
            Ok(()) if range.status < 0 => Some(rustix::io::Errno::from_raw_os_error(-range.status)),
            Ok(()) => None,
        };
        if let Some(e) = errno {
            // The filesystem is busy with the range (writeback, a
            // concurrent remap): a moment later it usually is not.
            let transient = matches!(
                e,
                rustix::io::Errno::AGAIN | rustix::io::Errno::BUSY | rustix::io::Errno::INTR
            );
            if transient && retries < 5 {
                retries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
            return Err(e.into());
        }
        // FILE_DEDUPE_RANGE_DIFFERS (1), or nothing shared: stop there.
        if range.status != 0 || range.bytes_deduped == 0 {
            break;
        }
        done += range.bytes_deduped;
    }
    Ok(done)
}

/// A directory that git-dvc writes into, or deletes from, on behalf of
/// input it does not trust: a source's list of files, a committed import
/// record. The directory itself is trusted (the worktree, or the one the
/// user named); below it, every directory on the way to a path must be a
/// real directory — never a symbolic link or a file — and the path itself
/// is never a symbolic link. So nothing that a commit or a source planted
/// (`imp/sub -> /somewhere`) can send a write or a delete outside it, the
/// way Git refuses paths "beyond a symbolic link".
///
/// These are checks on paths, not `openat`: they stop what is in the
/// worktree or the source, not another process racing on the same disk.
#[derive(Debug, Clone)]
pub struct Confined {
    base: std::path::PathBuf,
    shown: std::path::PathBuf,
}

impl Confined {
    /// Paths below `base`; errors name them as `shown` joined with the
    /// path below `base` (`shown` empty: just that path).
    pub fn new(
        base: impl Into<std::path::PathBuf>,
        shown: impl Into<std::path::PathBuf>,
    ) -> Confined {
        Confined {
            base: base.into(),
            shown: shown.into(),
        }
    }

    /// Checks `rel` for `action` ("write", "delete", "read") without
    /// changing anything: every part of it that exists must be a real
    /// directory (the last part: anything but a symbolic link).
    pub fn check(&self, rel: &Path, action: &'static str) -> Result<(), crate::error::Error> {
        self.walk(rel, action, false).map(|_| ())
    }

    /// The full path of `rel` when it exists and may be deleted or read
    /// (see [`Confined::check`]); `None` when it or a directory on the way
    /// is missing.
    pub fn existing(
        &self,
        rel: &Path,
        action: &'static str,
    ) -> Result<Option<std::path::PathBuf>, crate::error::Error> {
        let (path, exists) = self.walk(rel, action, false)?;
        Ok(exists.then_some(path))
    }

    /// The full path of `rel`, ready to be written: the missing
    /// directories on the way are created one at a time, each checked.
    pub fn create_parents(&self, rel: &Path) -> Result<std::path::PathBuf, crate::error::Error> {
        self.walk(rel, "write", true).map(|(path, _)| path)
    }

    /// Walks `rel` part by part from the base. Returns the full path and
    /// whether it exists.
    fn walk(
        &self,
        rel: &Path,
        action: &'static str,
        create: bool,
    ) -> Result<(std::path::PathBuf, bool), crate::error::Error> {
        use crate::error::Error;
        use std::path::Component;
        let mut parts = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(p) => parts.push(p),
                _ => {
                    return Err(Error::NotBelow {
                        what: "refusing a path that is not plainly below its directory",
                        path: self.shown.join(rel),
                    });
                }
            }
        }
        if parts.is_empty() {
            return Err(Error::NotBelow {
                what: "no file named below the directory",
                path: self.base.clone(),
            });
        }
        let mut path = self.base.clone();
        let mut shown = self.shown.clone();
        for (i, part) in parts.iter().enumerate() {
            path.push(part);
            shown.push(part);
            let last = i + 1 == parts.len();
            let refused = |what| Error::Through {
                action,
                what,
                path: shown.display().to_string(),
            };
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => return Err(refused("a symbolic link")),
                Ok(m) if !last && !m.is_dir() => return Err(refused("a non-directory")),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if last || !create {
                        return Ok((self.base.join(rel), false));
                    }
                    match fs::create_dir(&path) {
                        Ok(()) => {}
                        // Made by someone else meanwhile: looked at again below.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(Error::io("cannot create", shown.display(), e)),
                    }
                    match fs::symlink_metadata(&path) {
                        Ok(m) if m.is_dir() => {}
                        Ok(m) if m.file_type().is_symlink() => {
                            return Err(refused("a symbolic link"));
                        }
                        Ok(_) => return Err(refused("a non-directory")),
                        Err(e) => return Err(Error::io("cannot create", shown.display(), e)),
                    }
                }
                Err(e) => return Err(Error::io("cannot read", shown.display(), e)),
            }
        }
        Ok((path, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn temp_with(dir: &Path, bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut t = tempfile::Builder::new().tempfile_in(dir).unwrap();
        t.write_all(bytes).unwrap();
        t
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn copy_range_copies_at_the_offsets_and_refuses_a_short_source() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        fs::write(tmp.path().join("src"), &bytes).unwrap();
        let src = fs::File::open(tmp.path().join("src")).unwrap();
        let dst = fs::File::create(tmp.path().join("dst")).unwrap();
        // Out of order, as parts land.
        copy_range(&src, &dst, 60_000, 40_000).unwrap();
        copy_range(&src, &dst, 0, 60_000).unwrap();
        assert!(fs::read(tmp.path().join("dst")).unwrap() == bytes);
        let err = copy_range(&src, &dst, 90_000, 20_000).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn replace_swaps_in_the_new_file_and_leaves_no_old_one_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let (work, scratch) = (tmp.path().join("work"), tmp.path().join("scratch"));
        fs::create_dir_all(&work).unwrap();
        fs::create_dir_all(&scratch).unwrap();
        let dest = work.join("big.bin");
        // Nothing there yet: a plain rename.
        replace(temp_with(&scratch, b"v1"), &dest).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"v1");
        // A file there: swapped, and the old one is gone from the scratch dir.
        replace(temp_with(&scratch, b"v2"), &dest).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"v2");
        assert_eq!(names(&scratch), Vec::<String>::new());
        assert_eq!(names(&work), ["big.bin"]);
        // A directory there is never swapped out of the way.
        let dir = work.join("d");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("keep"), b"k").unwrap();
        assert!(replace(temp_with(&scratch, b"v3"), &dir).is_err());
        assert_eq!(fs::read(dir.join("keep")).unwrap(), b"k");
        assert_eq!(names(&scratch), Vec::<String>::new());
    }

    #[test]
    fn confined_paths_never_pass_a_symlink_or_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (base, outside) = (tmp.path().join("base"), tmp.path().join("outside"));
        fs::create_dir_all(base.join("real")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        symlink(&outside, base.join("link")).unwrap();
        fs::write(base.join("file"), b"x").unwrap();
        let c = Confined::new(&base, "");
        let refused = |r: Result<std::path::PathBuf, crate::error::Error>| match r {
            Err(e) => e.to_string(),
            Ok(p) => panic!("accepted {}", p.display()),
        };
        assert_eq!(
            refused(c.create_parents(Path::new("link/a/b"))),
            "refusing to write through a symbolic link (link)"
        );
        assert_eq!(
            refused(c.create_parents(Path::new("link"))),
            "refusing to write through a symbolic link (link)"
        );
        assert_eq!(
            refused(c.create_parents(Path::new("file/a"))),
            "refusing to write through a non-directory (file)"
        );
        assert!(
            refused(c.create_parents(Path::new("real/../link/a"))).starts_with("refusing a path")
        );
        assert!(refused(c.create_parents(Path::new("/etc/x"))).starts_with("refusing a path"));
        assert!(c.existing(Path::new("link/a"), "delete").is_err());
        assert!(fs::read_dir(&outside).unwrap().next().is_none());
        // Missing directories are made; a missing path is simply absent.
        let p = c.create_parents(Path::new("real/new/deeper/f")).unwrap();
        assert_eq!(p, base.join("real/new/deeper/f"));
        assert!(base.join("real/new/deeper").is_dir());
        assert_eq!(
            c.existing(Path::new("real/none/f"), "delete").unwrap(),
            None
        );
        assert_eq!(
            c.existing(Path::new("file"), "delete").unwrap(),
            Some(base.join("file"))
        );
        // Errors name the path as the user knows it.
        let shown = Confined::new(&base, "out");
        assert_eq!(
            shown
                .check(Path::new("link/x"), "delete")
                .unwrap_err()
                .to_string(),
            "refusing to delete through a symbolic link (out/link)"
        );
    }
}
