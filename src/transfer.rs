//! The transfer engine: moves many objects between the cache and a remote
//! in parallel (`transfer.jobs`), retrying transient failures with
//! exponential backoff, skipping what the other side already has, and
//! showing progress on a terminal.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;

use crate::cache::Cache;
use crate::filter::process::Fetcher;
use crate::oid::Oid;
use crate::pointer::Pointer;
use crate::remote::{Remote, RemoteError};
use crate::ui;

/// Attempts per object for transient failures (first try included).
pub const ATTEMPTS: u32 = 5;
/// First backoff; doubled after each failure, capped at [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What a batch transfer did.
#[derive(Debug, Default)]
pub struct Report {
    /// Objects moved.
    pub transferred: Vec<Oid>,
    /// Objects the destination already had.
    pub skipped: Vec<Oid>,
    /// Objects that failed, with why.
    pub failed: Vec<(Oid, RemoteError)>,
    /// Bytes moved.
    pub bytes: u64,
}

/// Runs `op` until it succeeds, fails for good, or runs out of attempts.
pub async fn with_retries<T, F, Fut>(mut op: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RemoteError>>,
{
    let mut delay = BASE_BACKOFF;
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                ui::verbose(&format!(
                    "git-dvc: {e}; retrying in {} ms",
                    delay.as_millis()
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_BACKOFF);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A remote, a cache and a runtime to move objects between them.
pub struct Transfer {
    rt: Arc<Runtime>,
    remote: Arc<dyn Remote>,
    cache: Cache,
    jobs: usize,
}

fn progress_bar(total: u64, what: &str) -> ProgressBar {
    if ui::verbosity() < ui::Verbosity::Normal || !std::io::stderr().is_terminal() || total == 0 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

impl Transfer {
    /// An engine for `remote` with `jobs` transfers in flight.
    pub fn new(remote: Arc<dyn Remote>, cache: Cache, jobs: usize) -> std::io::Result<Transfer> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(jobs.clamp(2, 8))
            .enable_all()
            .build()?;
        Ok(Transfer {
            rt: Arc::new(rt),
            remote,
            cache,
            jobs: jobs.max(1),
        })
    }

    /// The remote's name.
    pub fn remote_name(&self) -> &str {
        self.remote.name()
    }

    /// Downloads the objects the cache lacks.
    pub fn download(&self, wanted: &[Pointer]) -> Report {
        let mut report = Report::default();
        let mut todo: Vec<Pointer> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for p in wanted {
            if !seen.insert(p.oid) {
                continue;
            }
            if self.cache.contains(&p.oid) {
                report.skipped.push(p.oid);
            } else {
                todo.push(*p);
            }
        }
        let bar = progress_bar(todo.iter().map(|p| p.size).sum(), "Downloading");
        let results: Vec<(Pointer, Result<u64, RemoteError>)> = self.rt.block_on(async {
            futures_util::stream::iter(todo)
                .map(|p| {
                    let (remote, cache, bar) =
                        (self.remote.clone(), self.cache.clone(), bar.clone());
                    async move {
                        let r = with_retries(|| remote.download(&p.oid, &cache)).await;
                        if r.is_ok() {
                            bar.inc(p.size);
                        }
                        (p, r)
                    }
                })
                .buffer_unordered(self.jobs)
                .collect()
                .await
        });
        bar.finish_and_clear();
        for (p, r) in results {
            match r {
                Ok(n) => {
                    report.bytes += n;
                    report.transferred.push(p.oid);
                }
                Err(e) => report.failed.push((p.oid, e)),
            }
        }
        report
    }

    /// Uploads the objects the remote lacks. Objects missing from the cache
    /// fail (unless the remote has them already).
    pub fn upload(&self, wanted: &[Pointer]) -> Report {
        let mut seen = std::collections::HashSet::new();
        let todo: Vec<Pointer> = wanted
            .iter()
            .filter(|p| seen.insert(p.oid))
            .copied()
            .collect();
        let bar = progress_bar(todo.iter().map(|p| p.size).sum(), "Uploading");
        let results: Vec<(Pointer, Result<bool, RemoteError>)> = self.rt.block_on(async {
            futures_util::stream::iter(todo)
                .map(|p| {
                    let (remote, cache, bar) =
                        (self.remote.clone(), self.cache.clone(), bar.clone());
                    async move {
                        let r = async {
                            if with_retries(|| remote.contains(&p.oid, Some(p.size))).await? {
                                return Ok(false);
                            }
                            // Corruption never spreads: the object is
                            // hashed before any of it leaves (and
                            // quarantined when it is bad).
                            let c = cache.clone();
                            tokio::task::spawn_blocking(move || c.verify(&p.oid, p.size))
                                .await
                                .map_err(|e| RemoteError::Failed {
                                    remote: remote.name().to_string(),
                                    message: e.to_string(),
                                })??;
                            with_retries(|| remote.upload(&p.oid, p.size, &cache)).await?;
                            Ok(true)
                        }
                        .await;
                        bar.inc(p.size);
                        (p, r)
                    }
                })
                .buffer_unordered(self.jobs)
                .collect()
                .await
        });
        bar.finish_and_clear();
        let mut report = Report::default();
        for (p, r) in results {
            match r {
                Ok(true) => {
                    report.bytes += p.size;
                    report.transferred.push(p.oid);
                }
                Ok(false) => report.skipped.push(p.oid),
                Err(e) => report.failed.push((p.oid, e)),
            }
        }
        report
    }

    /// Which of `oids` the remote lacks (`status --remote`).
    pub fn missing_on_remote(&self, oids: &[Oid]) -> Result<Vec<Oid>, RemoteError> {
        let results: Vec<(Oid, Result<bool, RemoteError>)> = self.rt.block_on(async {
            futures_util::stream::iter(oids.iter().copied())
                .map(|oid| {
                    let remote = self.remote.clone();
                    async move { (oid, with_retries(|| remote.contains(&oid, None)).await) }
                })
                .buffer_unordered(self.jobs)
                .collect()
                .await
        });
        let mut missing = Vec::new();
        for (oid, r) in results {
            if !r? {
                missing.push(oid);
            }
        }
        Ok(missing)
    }

    /// Runs a future on the engine's runtime (gc and fsck on remotes).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The remote itself.
    pub fn remote(&self) -> &Arc<dyn Remote> {
        &self.remote
    }
}

/// Downloads for delayed smudges: each missing object starts downloading as
/// soon as Git asks for it, `jobs` at a time, and Git collects the files
/// as they complete (`list_available_blobs`).
pub struct DelayFetcher {
    rt: Arc<Runtime>,
    cache: Cache,
    default: Option<Arc<dyn Remote>>,
    routes: Vec<(String, Arc<dyn Remote>)>,
    limit: Arc<Semaphore>,
    tx: mpsc::Sender<(Oid, Result<u64, RemoteError>)>,
    rx: mpsc::Receiver<(Oid, Result<u64, RemoteError>)>,
    pending: HashMap<Oid, Vec<String>>,
    failures: Vec<(String, RemoteError)>,
    /// Bytes of delayed downloads, on a terminal (`git clone` shows it).
    bar: Option<ProgressBar>,
}

/// The remote for `path`: the import it lies in (longest match), else the
/// default.
pub fn route<'a>(
    routes: &'a [(String, Arc<dyn Remote>)],
    default: Option<&'a Arc<dyn Remote>>,
    path: &str,
) -> Option<&'a Arc<dyn Remote>> {
    routes
        .iter()
        .filter(|(prefix, _)| {
            path == prefix
                || (path.starts_with(prefix.as_str())
                    && path.as_bytes().get(prefix.len()) == Some(&b'/'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, r)| r)
        .or(default)
}

impl DelayFetcher {
    /// A fetcher downloading into `cache`, `jobs` at a time, from the
    /// import a path lies in or else from `default`.
    pub fn new(
        cache: Cache,
        jobs: usize,
        default: Option<Arc<dyn Remote>>,
        routes: Vec<(String, Arc<dyn Remote>)>,
    ) -> std::io::Result<DelayFetcher> {
        let (tx, rx) = mpsc::channel();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(jobs.clamp(2, 8))
            .enable_all()
            .build()?;
        Ok(DelayFetcher {
            rt: Arc::new(rt),
            cache,
            default,
            routes,
            limit: Arc::new(Semaphore::new(jobs.max(1))),
            tx,
            rx,
            pending: HashMap::new(),
            failures: Vec::new(),
            bar: None,
        })
    }

    fn remote_for(&self, path: &str) -> Option<Arc<dyn Remote>> {
        route(&self.routes, self.default.as_ref(), path).cloned()
    }

    fn start(&mut self, path: &str, pointer: Pointer) -> bool {
        if let Some(paths) = self.pending.get_mut(&pointer.oid) {
            paths.push(path.to_string());
            return true;
        }
        let Some(remote) = self.remote_for(path) else {
            return false;
        };
        self.pending.insert(pointer.oid, vec![path.to_string()]);
        // Created on the first download: the total grows as Git asks.
        let bar = match &self.bar {
            Some(bar) => {
                bar.inc_length(pointer.size);
                bar.clone()
            }
            None => self
                .bar
                .insert(progress_bar(pointer.size, "git-dvc: downloading"))
                .clone(),
        };
        let (cache, tx, limit) = (self.cache.clone(), self.tx.clone(), self.limit.clone());
        self.rt.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let r = with_retries(|| remote.download(&pointer.oid, &cache)).await;
            bar.inc(pointer.size);
            let _ = tx.send((pointer.oid, r));
        });
        true
    }

    fn settle(&mut self, oid: Oid, r: Result<u64, RemoteError>) -> Vec<String> {
        let paths = self.pending.remove(&oid).unwrap_or_default();
        if let Err(e) = r {
            if let Some(first) = paths.first() {
                self.failures.push((first.clone(), e));
            }
        }
        paths
    }

    /// Why downloads failed, naming the first failure (the filter's one
    /// summary warning lists the files left as pointers).
    pub fn finish(&mut self) -> Option<String> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.failures.sort_by(|a, b| a.0.cmp(&b.0));
        let why = self.failures.first().map(|(path, e)| {
            let more = if self.failures.len() > 1 {
                format!(", and {} more", self.failures.len() - 1)
            } else {
                String::new()
            };
            format!("{path}: {e}{more}")
        });
        self.failures.clear();
        why
    }
}

impl DelayFetcher {
    fn enqueue(&mut self, path: &str, pointer: Pointer) -> bool {
        self.start(path, pointer)
    }

    fn fetch_now(&mut self, path: &str, pointer: Pointer) {
        let Some(remote) = self.remote_for(path) else {
            return;
        };
        let r = self
            .rt
            .block_on(with_retries(|| remote.download(&pointer.oid, &self.cache)));
        if let Err(e) = r {
            self.failures.push((path.to_string(), e));
        }
    }

    /// Blocks for at least one finished download.
    pub fn wait_available(&mut self) -> Vec<String> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        let mut done = Vec::new();
        if let Ok((oid, r)) = self.rx.recv() {
            done.extend(self.settle(oid, r));
        }
        while let Ok((oid, r)) = self.rx.try_recv() {
            done.extend(self.settle(oid, r));
        }
        done
    }
}

/// Opens the remote only when the first object turns out to be missing, so
/// a filter that finds everything in the cache never builds a runtime or
/// reads remote config. `open` gets the checkout's treeish.
pub struct LazyFetcher<F> {
    open: F,
    state: Option<Option<DelayFetcher>>,
}

impl<F: FnMut(Option<&str>) -> Option<DelayFetcher>> LazyFetcher<F> {
    /// A fetcher that calls `open` on first use; `None` from it means no
    /// remote is configured and files stay pointers.
    pub fn new(open: F) -> Self {
        LazyFetcher { open, state: None }
    }

    fn get(&mut self, treeish: Option<&str>) -> Option<&mut DelayFetcher> {
        if self.state.is_none() {
            self.state = Some((self.open)(treeish));
        }
        self.state.as_mut().and_then(|s| s.as_mut())
    }
}

impl<F: FnMut(Option<&str>) -> Option<DelayFetcher>> Fetcher for LazyFetcher<F> {
    fn enqueue(&mut self, path: &str, pointer: Pointer, treeish: Option<&str>) -> bool {
        self.get(treeish).is_some_and(|f| f.enqueue(path, pointer))
    }

    fn fetch_now(&mut self, path: &str, pointer: Pointer, treeish: Option<&str>) {
        if let Some(f) = self.get(treeish) {
            f.fetch_now(path, pointer);
        }
    }

    fn wait_available(&mut self) -> Vec<String> {
        match self.state.as_mut().and_then(|s| s.as_mut()) {
            Some(f) => f.wait_available(),
            None => Vec::new(),
        }
    }

    fn finish(&mut self) -> Option<String> {
        self.state.as_mut().and_then(|s| s.as_mut())?.finish()
    }
}
