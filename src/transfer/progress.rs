//! Progress of a transfer on a terminal: objects done of all, bytes, rate
//! and time left, on one line of stderr. Hidden when stderr is not a
//! terminal or under `--quiet`, so scripts and logs stay clean.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use crate::ui;

/// One transfer's progress line. Clones share it (every task of a batch
/// reports to the same line).
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    what: Arc<str>,
    done: Arc<AtomicU64>,
    objects: Arc<AtomicU64>,
}

impl Progress {
    /// A line for `objects` objects of `bytes` in all (both may grow).
    pub fn new(what: &str, objects: u64, bytes: u64) -> Progress {
        let shown = ui::verbosity() >= ui::Verbosity::Normal
            && std::io::stderr().is_terminal()
            && objects > 0;
        let bar = if shown {
            let bar = ProgressBar::new(bytes);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        let p = Progress {
            bar,
            what: what.into(),
            done: Arc::new(AtomicU64::new(0)),
            objects: Arc::new(AtomicU64::new(objects)),
        };
        p.label();
        p
    }

    fn label(&self) {
        if self.bar.is_hidden() {
            return;
        }
        let (done, all) = (
            self.done.load(Ordering::Relaxed),
            self.objects.load(Ordering::Relaxed),
        );
        let noun = if all == 1 { "object" } else { "objects" };
        self.bar
            .set_message(format!("{} {done}/{all} {noun}", self.what));
    }

    /// One more object of `bytes` joins the transfer (Git asks for delayed
    /// files one by one).
    pub fn grow(&self, bytes: u64) {
        self.objects.fetch_add(1, Ordering::Relaxed);
        self.bar.inc_length(bytes);
        self.label();
    }

    /// Bytes of an object moved so far (big objects report as parts land).
    pub fn bytes(&self, n: u64) {
        self.bar.inc(n);
    }

    /// An object is finished; `rest` is what of its bytes was not yet
    /// reported through [`Progress::bytes`].
    pub fn object_done(&self, rest: u64) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.bar.inc(rest);
        self.label();
    }

    /// Removes the line (the command prints its own summary).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
