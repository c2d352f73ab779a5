//! `git-dvc filter-process`, `clean` and `smudge`: what Git runs.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};

use crate::checkout::EarlyWriter;
use crate::cli::{FilterProcessArgs, OneShotArgs};
use crate::context::Ctx;
use crate::filter::{Filter, index_pointers, process, skip_smudge_env};
use crate::hooks;
use crate::sync::open_fetcher;
use crate::transfer::LazyFetcher;
use crate::transfer::delay::Landed;

/// Pipe buffer we ask the kernel for: with the default 64 KiB, every
/// pkt-line packet costs a context switch, and a 1 GiB file crosses the
/// pipe three times slower (measured: 3.5 s against 1.1 s here).
const PIPE_SIZE: usize = 1 << 20;

/// Our stdin and stdout as plain files. Rust's `Stdout` is line-buffered,
/// which would cut binary content into a write per newline.
fn raw_stdio() -> io::Result<(File, File)> {
    let input = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let output = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    // Not a pipe, or a limit below 1 MiB: the default size still works.
    let _ = rustix::pipe::fcntl_setpipe_size(&input, PIPE_SIZE);
    let _ = rustix::pipe::fcntl_setpipe_size(&output, PIPE_SIZE);
    Ok((input, output))
}

/// How long a read from Git polls before it sleeps. Git writes each
/// request as several small packets microseconds apart, and the next
/// request follows our answer as soon as Git has written the file. A reader
/// that sleeps in between is woken for each, and a wakeup across CPUs is
/// costly in a VM: a clone of 6,000 pointers through the protocol took
/// 0.63 s sleeping and 0.34 s polling (`git add` of 6,000 files: 1.42 s
/// and 1.07 s). Past this, the reader sleeps as before. While downloads
/// run the reader sleeps at once: the core it would spin on is theirs.
const SPIN: std::time::Duration = std::time::Duration::from_micros(50);

/// Our stdin from Git, read without sleeping for up to [`SPIN`] each time
/// (the descriptor is non-blocking; to sleep, it is polled), unless
/// downloads are in flight. A clone that downloads 6,000 small objects
/// has three kinds of work for the CPUs: Git writing pointer files, this
/// reader answering it, and the downloads. Spinning there took a core from
/// the downloads: on 2 cores, a fresh clone of 6,000 x 64 KiB took
/// 2.45 s spinning and 2.02 s sleeping (medians of 8 interleaved runs).
struct SpinReader {
    file: File,
    nonblocking: bool,
    downloads: Arc<AtomicUsize>,
}

impl SpinReader {
    /// Only a pipe is made non-blocking: that flag belongs to the open file,
    /// which a terminal shares with the shell that started us. `downloads`
    /// counts the downloads in flight.
    fn new(file: File, downloads: Arc<AtomicUsize>) -> SpinReader {
        use std::os::unix::fs::FileTypeExt;
        let pipe = file.metadata().is_ok_and(|m| m.file_type().is_fifo());
        let nonblocking = pipe && set_nonblocking(&file, true).is_ok();
        SpinReader {
            file,
            nonblocking,
            downloads,
        }
    }
}

impl Drop for SpinReader {
    fn drop(&mut self) {
        if self.nonblocking {
            let _ = set_nonblocking(&self.file, false);
        }
    }
}

fn set_nonblocking(file: &File, on: bool) -> io::Result<()> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(file)?;
    let flags = if on {
        flags | OFlags::NONBLOCK
    } else {
        flags - OFlags::NONBLOCK
    };
    fcntl_setfl(file, flags)?;
    Ok(())
}

impl Read for SpinReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.nonblocking {
            return self.file.read(buf);
        }
        let spin = match self.downloads.load(Ordering::Relaxed) {
            0 => SPIN,
            _ => std::time::Duration::ZERO,
        };
        let deadline = std::time::Instant::now() + spin;
        loop {
            match self.file.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if std::time::Instant::now() < deadline {
                        std::hint::spin_loop();
                        continue;
                    }
                    // One syscall to sleep until Git writes (or closes the
                    // pipe), rather than four to toggle the flag around a
                    // blocking read: this is on the path of every request.
                    use rustix::event::{PollFd, PollFlags, poll};
                    match poll(&mut [PollFd::new(&self.file, PollFlags::IN)], None) {
                        Ok(_) | Err(rustix::io::Errno::INTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }
}

fn open_filter(skip: bool) -> Result<(Ctx, Filter)> {
    let ctx = Ctx::open()?;
    let mut filter = Filter::new(ctx.cache.clone(), skip || skip_smudge_env())
        .with_direct_size(ctx.config.direct_size);
    if let Some(root) = ctx.repo.workdir.clone() {
        filter = filter
            .with_known(root, index_pointers(&ctx.repo.git_dir))
            .with_marker(crate::checkout::Marker::new(&ctx.repo.git_dir));
    }
    Ok((ctx, filter))
}

/// Runs `git-dvc filter-process`.
pub fn filter_process(args: &FilterProcessArgs) -> Result<()> {
    let skip = args.skip || skip_smudge_env();
    let (mut ctx, filter) = open_filter(skip)?;
    if ctx.repo.workdir.is_some() {
        hooks::install_missing(&ctx.repo);
        // What is downloaded is for worktree files, which git-dvc writes:
        // each gets the copy checked as it downloaded, not hashed again.
        ctx.cache = ctx.cache.with_twins();
    }
    // A first checkout (a clone: no index yet) has each downloaded file
    // written as soon as its object lands and Git has moved past it.
    let early = match skip {
        true => None,
        false => EarlyWriter::for_first_checkout(&ctx.repo, &ctx.cache, ctx.config.direct_size),
    };
    let mut filter = filter.with_early(early.clone());
    let (input, output) = raw_stdio()?;
    let downloads = Arc::new(AtomicUsize::new(0));
    let input = BufReader::with_capacity(1 << 17, SpinReader::new(input, downloads.clone()));
    let output = BufWriter::with_capacity(1 << 17, output);
    let git_dir = ctx.repo.git_dir.clone();
    let cache = ctx.cache.clone();
    let landed = early
        .clone()
        .map(|e| Arc::new(move |path: &str| e.landed(path)) as Landed);
    let mut fetcher = LazyFetcher::new(move |treeish: Option<&str>| {
        open_fetcher(&git_dir, cache.clone(), treeish)
            .map(|f| f.counting_in(downloads.clone()).on_landed(landed.clone()))
    });
    let fetcher: Option<&mut dyn process::Fetcher> = if skip { None } else { Some(&mut fetcher) };
    process::serve(&mut filter, fetcher, input, output)?;
    // Git closes the pipe as it exits, after writing its index: now the
    // files it left as pointers are written, straight from the cache (big
    // ones it had, small ones that were downloading), with any other
    // pointer file the post-checkout hook left to this, and the index
    // learns the stat data of those and of the ones written early.
    if filter.completes_checkout() && ctx.repo.workdir.is_some() {
        let early = early.map(|e| e.take_written()).unwrap_or_default();
        let served = filter.take_served();
        crate::checkout::complete_checkout(
            &ctx.repo,
            &ctx.cache,
            ctx.config.direct_size,
            early,
            &served,
        )?;
    }
    if let Some(root) = ctx.repo.workdir.as_deref() {
        crate::checkout::share_extents(root, &ctx.cache, &filter.take_stored_big());
    }
    Ok(())
}

/// Runs the one-shot `git-dvc clean`.
pub fn clean(args: &OneShotArgs) -> Result<()> {
    let (_ctx, mut filter) = open_filter(false)?;
    let path = crate::filter::Pathname::new(args.path.as_deref().unwrap_or(""));
    let (input, mut output) = raw_stdio()?;
    let bytes = filter.clean(&path, &mut BufReader::with_capacity(1 << 17, input))?;
    output.write_all(&bytes).context("cannot write to git")?;
    Ok(())
}

/// Runs the one-shot `git-dvc smudge`.
pub fn smudge(args: &OneShotArgs) -> Result<()> {
    let (_ctx, mut filter) = open_filter(args.skip)?;
    let path = args.path.as_deref().unwrap_or("<stdin>");
    let (input, output) = raw_stdio()?;
    let out = filter.smudge(
        &crate::filter::Pathname::new(path),
        &mut BufReader::with_capacity(1 << 17, input),
        false,
    )?;
    let mut output = BufWriter::with_capacity(1 << 17, output);
    out.write_to(&mut |r: &mut dyn Read| crate::cache::copy(r, &mut output))
        .context("cannot write to git")?;
    output.flush().context("cannot write to git")?;
    filter.finish();
    Ok(())
}
