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
    let (mut off_in, mut off_out) = (0u64, 0u64);
    while off_in < len {
        let chunk = usize::try_from(len - off_in)
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        match rustix::fs::copy_file_range(src, Some(&mut off_in), dst, Some(&mut off_out), chunk) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the source ended early",
                ));
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            // Not supported between these files: copy by hand, from the
            // start (nothing was copied yet, or the offsets say how much).
            Err(
                rustix::io::Errno::XDEV
                | rustix::io::Errno::NOSYS
                | rustix::io::Errno::INVAL
                | rustix::io::Errno::OPNOTSUPP,
            ) if off_in == 0 => return buffered_copy(src, dst, len),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(CopyKind::Kernel)
}

fn buffered_copy(src: &fs::File, dst: &fs::File, len: u64) -> io::Result<CopyKind> {
    use std::io::{Read, Seek};
    let mut src = src.try_clone()?;
    let mut dst = dst.try_clone()?;
    src.rewind()?;
    dst.rewind()?;
    let copied = crate::cache::copy(&mut (&mut src).take(len), &mut dst)?;
    if copied != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the source ended early",
        ));
    }
    Ok(CopyKind::Buffered)
}
