//! Messages to the user. Everything goes to stderr: stdout belongs to the
//! command's output (and, in the filter, to Git's protocol — a stray byte
//! there would corrupt it).

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(1);

/// How chatty to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only.
    Quiet = 0,
    /// Warnings and results.
    Normal = 1,
    /// Details of what is done.
    Verbose = 2,
}

/// Sets the level for the rest of the process.
pub fn set_verbosity(v: Verbosity) {
    LEVEL.store(v as u8, Ordering::Relaxed);
}

/// The current level.
pub fn verbosity() -> Verbosity {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// `git-dvc: warning: …`
pub fn warn(msg: &str) {
    if verbosity() >= Verbosity::Normal {
        eprintln!("git-dvc: warning: {msg}");
    }
}

/// What starts every error git-dvc prints.
pub const ERROR_PREFIX: &str = "git-dvc: error: ";

/// `git-dvc: error: …` (always shown).
pub fn error(msg: &str) {
    eprintln!("{ERROR_PREFIX}{msg}");
}

/// A progress or result line on stderr, hidden by `--quiet`.
pub fn info(msg: &str) {
    if verbosity() >= Verbosity::Normal {
        eprintln!("{msg}");
    }
}

/// A line of a command's own output on stdout, hidden by `--quiet`.
pub fn out(msg: &str) {
    if verbosity() >= Verbosity::Normal {
        println!("{msg}");
    }
}

/// A detail shown with `--verbose`.
pub fn verbose(msg: &str) {
    if verbosity() >= Verbosity::Verbose {
        eprintln!("{msg}");
    }
}

/// Human-readable byte counts (binary units, as `ls -lh`).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Set for the Git commands git-dvc runs, so the filters and hooks they
/// start do not repeat the configuration warnings already printed.
pub const WARNED_ENV: &str = "GIT_DVC_CONFIG_WARNED";
