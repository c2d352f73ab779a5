//! git-dvc: version large data and models inside Git.
//!
//! A Git extension in the git-lfs mould: `.gitattributes` opts files in, the
//! clean filter turns them into small pointers while their content goes to a
//! content-addressed cache, and the smudge filter (Git's long-running
//! process protocol) brings content back on checkout. The binary is a thin
//! shell around [`run`]; every concern lives in its own module.

#![deny(missing_docs)]

pub mod attributes;
pub mod cache;
pub mod checkout;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod error;
pub mod filter;
pub mod fsutil;
pub mod gc;
pub mod hooks;
pub mod index;
pub mod man;
pub mod merge;
pub mod migrate;
pub mod oid;
pub mod pktline;
pub mod pointer;
pub mod registry;
pub mod remote;
pub mod repo;
pub mod runtime;
pub mod sync;
pub mod tracked;
pub mod transfer;
pub mod ui;
pub mod worktree;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::context::Exit;

/// Buffer size for streaming file content: large enough that syscalls and
/// hashing calls are amortised, small enough to keep memory flat.
pub const IO_BUF: usize = 1 << 20;

/// A streaming buffer that starts at 64 KiB and grows to [`IO_BUF`] once two
/// reads in a row fill it (a file of exactly 64 KiB fills it once, then
/// reads nothing): a copy of thousands of small files then zeroes 64 KiB
/// each rather than 1 MiB (measured: a tenth of a 6,000-file checkout went
/// to that memset).
pub struct StreamBuf {
    buf: Vec<u8>,
    full: u8,
}

impl StreamBuf {
    /// A buffer at its small size.
    pub fn new() -> StreamBuf {
        StreamBuf {
            buf: vec![0u8; 64 << 10],
            full: 0,
        }
    }

    /// The buffer to read into.
    pub fn get(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// After a read of `n` bytes: grows the buffer on its second full read.
    pub fn filled(&mut self, n: usize) {
        if n < self.buf.len() || self.buf.len() >= IO_BUF {
            self.full = 0;
            return;
        }
        self.full += 1;
        if self.full == 2 {
            self.buf.resize(IO_BUF, 0);
        }
    }
}

impl Default for StreamBuf {
    fn default() -> Self {
        StreamBuf::new()
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
/// (`read_exact` fails at the end; this tells a short input from a full one.)
pub fn read_full(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Runs `f` on every item on up to `threads` threads, each taking the next
/// item as it finishes one (so items of uneven cost spread evenly), and
/// returns the results in the items' order.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    let slots = std::sync::Mutex::new(&mut out);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    mine.push((i, f(item)));
                }
                let mut slots = slots
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for (i, r) in mine {
                    slots[i] = Some(r);
                }
            });
        }
    });
    // Every index below the length was taken by exactly one thread, and a
    // thread that panicked has already re-raised its panic at the scope.
    out.into_iter()
        .map(|r| r.expect("every item has its result"))
        .collect()
}

/// True when the environment variable is set to something other than
/// empty, `0` or `false`.
pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Parses the command line, runs the command, and maps the outcome to an
/// exit code: 0 on success, 1 on errors, 2 on usage errors (clap's).
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    ui::set_verbosity(if cli.quiet {
        ui::Verbosity::Quiet
    } else if cli.verbose {
        ui::Verbosity::Verbose
    } else {
        ui::Verbosity::Normal
    });
    match dispatch(&cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<Exit>() {
                return ExitCode::from(exit.code);
            }
            // A closed pipe (`git dvc ls-files | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            ui::error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cmd: &Command) -> anyhow::Result<()> {
    use crate::commands::*;
    match cmd {
        Command::Install(a) => install::install(a),
        Command::Uninstall(a) => install::uninstall(a),
        Command::Track(a) => track::track(a),
        Command::Untrack(a) => track::untrack(a),
        Command::Remote(c) => remote::run(c),
        Command::Push(a) => push::run(a),
        Command::Fetch(a) => fetch::fetch(a),
        Command::Pull(a) => fetch::pull(a),
        Command::Checkout(a) => checkout::run(a),
        Command::Status(a) => status::run(a),
        Command::LsFiles(a) => ls_files::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Get(a) => get::run(a),
        Command::Import(a) => import::import(a),
        Command::Update(a) => import::update(a),
        Command::Gc(a) => gc::run(a),
        Command::Fsck(a) => fsck::run(a),
        Command::Migrate(c) => migrate::run(c),
        Command::Pointer(a) => pointer::run(a),
        Command::FilterProcess(a) => filter::filter_process(a),
        Command::Clean(a) => filter::clean(a),
        Command::Smudge(a) => filter::smudge(a),
        Command::Hook(a) => hook::hook(a),
        Command::MergeDriver(a) => merge_driver::run(a),
        Command::Completions(a) => {
            use std::io::Write;
            std::io::stdout().write_all(&man::completions(a.shell))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_the_order_whatever_the_threads() {
        let items: Vec<u64> = (0..1000).collect();
        for threads in [0, 1, 2, 7, 5000] {
            let got = par_map(&items, threads, |x| x * 3);
            assert_eq!(got, items.iter().map(|x| x * 3).collect::<Vec<_>>());
        }
        assert!(par_map(&[] as &[u8], 4, |x| *x).is_empty());
    }

    #[test]
    fn a_stream_buffer_grows_only_for_content_longer_than_it() {
        let mut b = StreamBuf::new();
        let small = b.get().len();
        // A file of exactly its size: one full read, then the end.
        b.filled(small);
        b.filled(0);
        assert_eq!(b.get().len(), small);
        // A longer one: the second full read in a row grows it.
        b.filled(small);
        b.filled(small);
        assert_eq!(b.get().len(), IO_BUF);
        b.filled(IO_BUF);
        assert_eq!(b.get().len(), IO_BUF);
    }
}
