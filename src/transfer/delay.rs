//! Downloads for delayed smudges (`git checkout`, `git clone`): Git asks
//! for a path, the object starts downloading at once, and Git collects the
//! finished files later (`list_available_blobs`). Each path's remote is the
//! import it lies in, else the default.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use tokio::runtime::Runtime;

use super::{Progress, with_retries};
use crate::cache::Cache;
use crate::oid::Oid;
use crate::pointer::Pointer;
use crate::remote::{Remote, RemoteError};

/// Downloads objects for delayed smudges. The filter's server
/// ([`crate::filter::process::serve`]) calls it; without one it never
/// delays. [`LazyFetcher`] is the implementation.
pub trait Fetcher {
    /// Queues a download for `path`; false when it cannot be fetched (no
    /// remote), in which case the smudge answers at once with the pointer.
    /// `treeish` is the commit being checked out, when Git says: during a
    /// clone the remote's config is read from it.
    fn enqueue(&mut self, path: &str, pointer: Pointer, treeish: Option<&str>) -> bool;
    /// Downloads one object before answering (Git cannot delay this file).
    fn fetch_now(&mut self, path: &str, pointer: Pointer, treeish: Option<&str>);
    /// Blocks until at least one queued path is done (fetched or failed)
    /// and returns those; an empty list once nothing is pending.
    fn wait_available(&mut self) -> Vec<String>;
    /// Blocks until every queued download is done, fetched or failed.
    fn wait_all(&mut self) {
        while !self.wait_available().is_empty() {}
    }
    /// Why downloads failed, if any did: said once, in the filter's one
    /// summary warning, when Git is done.
    fn finish(&mut self) -> Option<String> {
        None
    }
}

/// An import's output with its source's remote opened: files at or below
/// `prefix` are fetched from `remote` (fetch and the delayed smudge).
#[derive(Clone)]
pub struct OpenRoute {
    /// The import's output, repo-relative.
    pub prefix: String,
    /// Its source's remote (DVC sources wrapped to read by md5).
    pub remote: Arc<dyn Remote>,
}

/// Downloads for delayed smudges: each missing object starts downloading as
/// soon as Git asks for it, `jobs` at a time, and Git collects the files
/// as they complete (`list_available_blobs`).
///
/// The downloads run on up to `jobs` threads of their own (fewer at once
/// while big objects move in parts: their parts count against `jobs`, see
/// [`Remote::slots_for`]), each taking the next object from one queue:
/// a directory remote's download runs right there
/// ([`Remote::download_here`]), a network one's on the async
/// runtime, the thread waiting for it. Thousands of small objects then
/// cost no thread handoff each; while Git asks faster than objects land,
/// the queue is never empty and no thread sleeps.
pub struct DelayFetcher {
    rt: &'static Runtime,
    cache: Cache,
    default: Option<Arc<dyn Remote>>,
    routes: Vec<OpenRoute>,
    jobs: usize,
    workers: usize,
    queue: mpsc::Sender<Job>,
    queued: Arc<Mutex<mpsc::Receiver<Job>>>,
    tx: mpsc::Sender<Done>,
    rx: mpsc::Receiver<Done>,
    pending: HashMap<Oid, Vec<String>>,
    failures: Vec<(String, RemoteError)>,
    /// Bytes of delayed downloads, on a terminal (`git clone` shows it).
    bar: Option<Progress>,
    /// Downloads started and not yet finished (see [`DelayFetcher::counting_in`]).
    in_flight: Arc<AtomicUsize>,
    /// Told of each object that lands (see [`DelayFetcher::on_landed`]).
    landed: Option<Landed>,
    /// Requests in flight: a big object's parts take more than one.
    budget: super::Budget,
}

/// Told, on the download's thread, the path whose download brought an
/// object into the cache. It runs before that download counts as done, so
/// it has returned once [`Fetcher::wait_all`] has.
pub type Landed = Arc<dyn Fn(&str) + Send + Sync>;

/// One object to download: where from, and the bar to tell.
struct Job {
    path: String,
    remote: Arc<dyn Remote>,
    pointer: Pointer,
    bar: Progress,
}

/// A finished download.
type Done = (Oid, Result<u64, RemoteError>);

/// What a download thread shares with the fetcher.
struct Worker {
    rt: &'static Runtime,
    cache: Cache,
    queued: Arc<Mutex<mpsc::Receiver<Job>>>,
    done: mpsc::Sender<Done>,
    in_flight: Arc<AtomicUsize>,
    landed: Option<Landed>,
    budget: super::Budget,
}

impl Worker {
    /// Downloads queued objects until the fetcher is gone.
    fn run(self) {
        loop {
            let job = match self.queued.lock() {
                Ok(queue) => queue.recv(),
                Err(_) => return,
            };
            let Ok(job) = job else {
                return; // the fetcher was dropped
            };
            self.download(job);
        }
    }

    fn download(
        &self,
        Job {
            path,
            remote,
            pointer,
            bar,
        }: Job,
    ) {
        let oid = pointer.oid;
        // One thread per request, but a big object's parts are requests
        // too.
        let room = self
            .budget
            .take_blocking(self.rt, remote.slots_for(pointer.size));
        // The worktree file gets the copy checked on the way in (a
        // no-op unless the filter's cache keeps twins).
        self.cache.want_twin(&oid);
        // A transient failure on the thread's own path gets the async
        // path's retries with backoff.
        let size = Some(pointer.size);
        let r = match remote.download_here(&oid, size, &self.cache) {
            Some(r) if !r.as_ref().is_err_and(RemoteError::is_transient) => r,
            _ => self
                .rt
                .block_on(with_retries(|| remote.download(&oid, size, &self.cache))),
        };
        match (&r, &self.landed) {
            (Ok(_), Some(f)) => f(&path),
            (Ok(_), None) => {}
            (Err(_), _) => drop(self.cache.take_twin(&oid)),
        }
        drop(room);
        bar.object_done(pointer.size);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let _ = self.done.send((oid, r));
    }
}

/// True when `path` is `prefix` or lies below it (`a/b` in `a`, not in
/// `ab`).
pub fn lies_in(path: &str, prefix: &str) -> bool {
    path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// The remote for `path`: the import it lies in (longest match), else the
/// default.
pub fn route<'a>(
    routes: &'a [OpenRoute],
    default: Option<&'a Arc<dyn Remote>>,
    path: &str,
) -> Option<&'a Arc<dyn Remote>> {
    routes
        .iter()
        .filter(|r| lies_in(path, &r.prefix))
        .max_by_key(|r| r.prefix.len())
        .map(|r| &r.remote)
        .or(default)
}

impl DelayFetcher {
    /// A fetcher downloading into `cache`, `jobs` at a time, from the
    /// import a path lies in or else from `default`.
    pub fn new(
        cache: Cache,
        jobs: usize,
        default: Option<Arc<dyn Remote>>,
        routes: Vec<OpenRoute>,
    ) -> std::io::Result<DelayFetcher> {
        let (tx, rx) = mpsc::channel();
        let (queue, queued) = mpsc::channel();
        let rt = crate::runtime::get()?;
        Ok(DelayFetcher {
            rt,
            cache,
            default,
            routes,
            jobs: jobs.max(1),
            workers: 0,
            queue,
            queued: Arc::new(Mutex::new(queued)),
            tx,
            rx,
            pending: HashMap::new(),
            failures: Vec::new(),
            bar: None,
            in_flight: Arc::default(),
            landed: None,
            budget: super::Budget::new(jobs),
        })
    }

    /// Calls `landed` as each download lands: the filter writes a clone's
    /// files then, rather than after the last one.
    pub fn on_landed(mut self, landed: Option<Landed>) -> DelayFetcher {
        self.landed = landed;
        self
    }

    /// Keeps the number of downloads in flight in `counter`, which the
    /// filter reads to know whether this process has work besides
    /// answering Git (see `commands::filter::SpinReader`).
    pub fn counting_in(mut self, counter: Arc<AtomicUsize>) -> DelayFetcher {
        self.in_flight = counter;
        self
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
                bar.grow(pointer.size);
                bar.clone()
            }
            None => self
                .bar
                .insert(Progress::new("git-dvc: downloading", 1, pointer.size))
                .clone(),
        };
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let job = Job {
            path: path.to_string(),
            remote,
            pointer,
            bar,
        };
        if self.workers < self.jobs && self.spawn_worker().is_ok() {
            self.workers += 1;
        }
        if self.workers == 0 {
            // No thread could be started: download it here, now.
            self.worker().download(job);
        } else if let Err(mpsc::SendError(job)) = self.queue.send(job) {
            self.worker().download(job);
        }
        true
    }

    fn worker(&self) -> Worker {
        Worker {
            rt: self.rt,
            cache: self.cache.clone(),
            queued: self.queued.clone(),
            done: self.tx.clone(),
            in_flight: self.in_flight.clone(),
            landed: self.landed.clone(),
            budget: self.budget.clone(),
        }
    }

    fn spawn_worker(&self) -> std::io::Result<()> {
        let w = self.worker();
        std::thread::Builder::new()
            .name("git-dvc-download".into())
            .spawn(move || w.run())
            .map(drop)
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
            bar.finish();
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
        let r = self.rt.block_on(with_retries(|| {
            remote.download(&pointer.oid, Some(pointer.size), &self.cache)
        }));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::dir::DirRemote;

    fn remote(name: &str) -> Arc<dyn Remote> {
        Arc::new(DirRemote::new(name, std::path::Path::new("/nonexistent")))
    }

    fn open_route(prefix: &str, name: &str) -> OpenRoute {
        OpenRoute {
            prefix: prefix.to_string(),
            remote: remote(name),
        }
    }

    fn routed(
        routes: &[OpenRoute],
        default: Option<&Arc<dyn Remote>>,
        path: &str,
    ) -> Option<String> {
        route(routes, default, path).map(|r| r.name().to_string())
    }

    /// The filter spins on Git's pipe only while nothing downloads: the
    /// count must fall back to zero once the downloads are done, failed
    /// ones included.
    #[test]
    fn the_downloads_in_flight_are_counted_until_each_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let (store, local) = (dir.path().join("remote"), dir.path().join("cache"));
        let held = b"held on the remote";
        let oid = Oid::hash_bytes(held);
        Cache::new(&store)
            .insert_verified_bytes(&oid, held)
            .unwrap();
        let absent = Oid::hash_bytes(b"on no remote");
        let remote: Arc<dyn Remote> = Arc::new(DirRemote::new("r", &store));
        let counter = Arc::new(AtomicUsize::new(0));
        let mut f = DelayFetcher::new(Cache::new(&local), 2, Some(remote), Vec::new())
            .unwrap()
            .counting_in(counter.clone());
        assert_eq!(counter.load(Ordering::Relaxed), 0);
        let size = held.len() as u64;
        assert!(f.enqueue("a.bin", Pointer { oid, size }));
        assert!(f.enqueue("b.bin", Pointer { oid: absent, size }));
        assert!(counter.load(Ordering::Relaxed) <= 2);
        while !f.wait_available().is_empty() {}
        assert_eq!(counter.load(Ordering::Relaxed), 0);
        assert!(Cache::new(&local).contains(&oid));
        assert!(f.finish().unwrap().starts_with("b.bin: "));
    }

    #[test]
    fn a_path_goes_to_the_longest_import_it_lies_in() {
        let routes = vec![open_route("data", "outer"), open_route("data/sub", "inner")];
        let default = remote("default");
        assert_eq!(
            routed(&routes, Some(&default), "data/a.bin").as_deref(),
            Some("outer")
        );
        assert_eq!(
            routed(&routes, Some(&default), "data/sub/b.bin").as_deref(),
            Some("inner")
        );
        assert_eq!(
            routed(&routes, Some(&default), "data/sub").as_deref(),
            Some("inner")
        );
        assert_eq!(
            routed(&routes, Some(&default), "data").as_deref(),
            Some("outer")
        );
    }

    #[test]
    fn a_path_outside_every_import_goes_to_the_default() {
        let routes = vec![open_route("data", "import")];
        let default = remote("default");
        // A sibling sharing the prefix's letters is not inside it.
        assert_eq!(
            routed(&routes, Some(&default), "database.bin").as_deref(),
            Some("default")
        );
        assert_eq!(
            routed(&routes, Some(&default), "other/x").as_deref(),
            Some("default")
        );
        assert_eq!(routed(&routes, None, "other/x"), None);
    }

    #[test]
    fn lies_in_needs_a_whole_component() {
        assert!(lies_in("a/b", "a"));
        assert!(lies_in("a", "a"));
        assert!(!lies_in("ab", "a"));
        assert!(!lies_in("a", "a/b"));
    }
}
