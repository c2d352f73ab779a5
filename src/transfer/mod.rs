//! The transfer engine: moves many objects between the cache and a remote
//! in parallel (`transfer.jobs`), retrying transient failures with
//! exponential backoff ([`retry`]), skipping what the other side already
//! has, and showing progress on a terminal. Its verbs are all that
//! commands use of a remote: [`Transfer::upload`], [`Transfer::download`],
//! [`Transfer::exists`], [`Transfer::list`], [`Transfer::delete`],
//! [`Transfer::verify`]. Delayed smudges have their own fetcher
//! ([`delay`]). Everything runs on the one [`crate::runtime`].

pub mod delay;
pub mod progress;
pub use crate::remote::retry;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::runtime::Runtime;

pub use delay::{DelayFetcher, LazyFetcher, route};
pub use progress::Progress;
pub use retry::{ATTEMPTS, with_retries};

use crate::cache::Cache;
use crate::oid::Oid;
use crate::pointer::Pointer;
use crate::remote::{Remote, RemoteError};

/// Batches of at least this many objects ask the remote for a listing of
/// what it holds ([`Remote::held`]) instead of one request per object: two
/// HEADs are cheaper than listing two prefixes of a big bucket, two
/// thousand are not.
pub const LIST_AT: usize = 8;

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

/// A remote and a cache to move objects between, `jobs` requests at a
/// time.
pub struct Transfer {
    rt: &'static Runtime,
    remote: Arc<dyn Remote>,
    cache: Cache,
    jobs: usize,
}

/// The requests in flight of one batch (`transfer.jobs`), shared by its
/// objects: each takes as many as its backend keeps going for it
/// ([`Remote::slots_for`]), at most the whole budget.
#[derive(Clone)]
pub(crate) struct Budget {
    slots: Arc<tokio::sync::Semaphore>,
    total: u32,
}

impl Budget {
    /// A budget of `jobs` requests.
    pub(crate) fn new(jobs: usize) -> Budget {
        let total = jobs.clamp(1, 1 << 16) as u32;
        Budget {
            slots: Arc::new(tokio::sync::Semaphore::new(total as usize)),
            total,
        }
    }

    /// The room `n` requests take: at least one, at most the whole budget
    /// (an object wanting more still runs, alone).
    fn room(&self, n: usize) -> u32 {
        u32::try_from(n.max(1)).unwrap_or(u32::MAX).min(self.total)
    }

    /// Waits for `n` requests' room; it is given back when the permit is
    /// dropped.
    async fn take(&self, n: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let n = self.room(n);
        self.slots.clone().acquire_many_owned(n).await.ok()
    }

    /// [`Budget::take`] on a thread outside the runtime: without blocking
    /// when there is room (the usual case), else on `rt`.
    pub(crate) fn take_blocking(
        &self,
        rt: &Runtime,
        n: usize,
    ) -> Option<tokio::sync::OwnedSemaphorePermit> {
        match self.slots.clone().try_acquire_many_owned(self.room(n)) {
            Ok(p) => Some(p),
            Err(_) => rt.block_on(self.take(n)),
        }
    }
}

/// The first occurrence of each object, in order.
fn unique(wanted: &[Pointer]) -> Vec<Pointer> {
    let mut seen = HashSet::new();
    wanted
        .iter()
        .filter(|p| seen.insert(p.oid))
        .copied()
        .collect()
}

/// Runs `op` on every item on the runtime, as many at once as fit in a
/// budget of `jobs` slots (an item takes `slots(&item)` of them, see
/// [`Remote::slots_for`]), and collects each item with its outcome (in
/// completion order, or in item order when `ordered`): the one stream loop
/// every batch of remote calls shares.
pub fn each<T, R, S, F, Fut>(
    jobs: usize,
    items: Vec<T>,
    ordered: bool,
    slots: S,
    op: F,
) -> Vec<(T, R)>
where
    T: Clone,
    S: Fn(&T) -> usize,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R>,
{
    let budget = Budget::new(jobs);
    let tasks = futures_util::stream::iter(items).map(|item| {
        let room = budget.take(slots(&item));
        let fut = op(item.clone());
        async move {
            let _room = room.await;
            (item, fut.await)
        }
    });
    if ordered {
        crate::runtime::block_on(tasks.buffered(jobs.max(1)).collect())
    } else {
        crate::runtime::block_on(tasks.buffer_unordered(jobs.max(1)).collect())
    }
}

impl Transfer {
    /// An engine for `remote` with `jobs` transfers in flight.
    pub fn new(remote: Arc<dyn Remote>, cache: Cache, jobs: usize) -> std::io::Result<Transfer> {
        Ok(Transfer {
            rt: crate::runtime::get()?,
            remote,
            cache,
            jobs: jobs.max(1),
        })
    }

    /// The remote's name.
    pub fn remote_name(&self) -> &str {
        self.remote.name()
    }

    /// The slots one request to the remote takes (a request whose object
    /// size is unknown, or that moves no object).
    fn one_request(&self) -> usize {
        self.remote.slots_for(0)
    }

    /// Runs `op` on every item within the engine's budget (see [`each`]).
    fn each<T, R, S, F, Fut>(&self, items: Vec<T>, ordered: bool, slots: S, op: F) -> Vec<(T, R)>
    where
        T: Clone,
        S: Fn(&T) -> usize,
        F: Fn(T) -> Fut,
        Fut: Future<Output = R>,
    {
        each(self.jobs, items, ordered, slots, op)
    }

    /// Downloads the objects the cache lacks.
    pub fn download(&self, wanted: &[Pointer]) -> Report {
        let mut report = Report::default();
        let mut todo: Vec<Pointer> = Vec::new();
        for p in unique(wanted) {
            if self.cache.contains(&p.oid) {
                report.skipped.push(p.oid);
            } else {
                todo.push(p);
            }
        }
        let bar = Progress::new(
            "Downloading",
            todo.len() as u64,
            total(todo.iter().map(|p| p.size)),
        );
        let slots = |p: &Pointer| self.remote.slots_for(p.size);
        let results = self.each(todo, false, slots, |p| {
            let (remote, cache, bar) = (self.remote.clone(), self.cache.clone(), bar.clone());
            async move {
                let r = with_retries(|| remote.download(&p.oid, Some(p.size), &cache)).await;
                bar.object_done(p.size);
                r
            }
        });
        bar.finish();
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

    /// Of `oids`, those the remote holds at the size given, from one
    /// listing of the batch ([`Remote::held`]); `None` when the batch is
    /// small, the remote cannot list, or the listing failed (a key that may
    /// read objects but not list them): then each object is asked about.
    fn listed(&self, oids: &[(Oid, Option<u64>)]) -> Option<HashSet<Oid>> {
        if oids.len() < LIST_AT {
            return None;
        }
        let ids: Vec<Oid> = oids.iter().map(|(o, _)| *o).collect();
        let remote = self.remote.clone();
        let sizes = self
            .rt
            .block_on(with_retries(|| remote.held(&ids)))
            .ok()??;
        Some(
            oids.iter()
                .filter(|(o, want)| {
                    sizes
                        .get(o)
                        .is_some_and(|have| want.is_none_or(|w| w == *have))
                })
                .map(|(o, _)| *o)
                .collect(),
        )
    }

    /// Uploads the objects the remote lacks. Objects missing from the cache
    /// fail (unless the remote has them already). What the remote holds is
    /// learnt from one listing of the batch where it can list; an object
    /// there at the wrong size is uploaded again.
    pub fn upload(&self, wanted: &[Pointer]) -> Report {
        let todo = unique(wanted);
        let listed = self.listed(
            &todo
                .iter()
                .map(|p| (p.oid, Some(p.size)))
                .collect::<Vec<_>>(),
        );
        let listed = listed.as_ref();
        let bar = Progress::new(
            "Uploading",
            todo.len() as u64,
            total(todo.iter().map(|p| p.size)),
        );
        let slots = |p: &Pointer| self.remote.slots_for(p.size);
        let results = self.each(todo, false, slots, |p| {
            let (remote, cache, bar) = (self.remote.clone(), self.cache.clone(), bar.clone());
            async move {
                let r = async {
                    let there = match listed {
                        Some(held) => held.contains(&p.oid),
                        None => with_retries(|| remote.contains(&p.oid, Some(p.size))).await?,
                    };
                    if there {
                        return Ok(false);
                    }
                    // Corruption never spreads: the object is hashed
                    // (and quarantined when it is bad) before any of it
                    // is visible on the remote: here, or by the backend
                    // as it sends.
                    if !remote.upload_verifies(p.size) {
                        let c = cache.clone();
                        tokio::task::spawn_blocking(move || c.verify(&p.oid, p.size))
                            .await
                            .map_err(|e| RemoteError::Failed {
                                remote: remote.name().to_string(),
                                message: e.to_string(),
                            })??;
                    }
                    with_retries(|| remote.upload(&p.oid, p.size, &cache)).await?;
                    Ok(true)
                }
                .await;
                bar.object_done(p.size);
                r
            }
        });
        bar.finish();
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

    /// Which of `oids` the remote holds.
    pub fn exists(&self, oids: &[Oid]) -> Result<HashSet<Oid>, RemoteError> {
        if let Some(held) = self.listed(&oids.iter().map(|o| (*o, None)).collect::<Vec<_>>()) {
            return Ok(held);
        }
        let results = self.each(
            oids.to_vec(),
            false,
            |_| self.one_request(),
            |oid| {
                let remote = self.remote.clone();
                async move { with_retries(|| remote.contains(&oid, None)).await }
            },
        );
        let mut held = HashSet::new();
        for (oid, r) in results {
            if r? {
                held.insert(oid);
            }
        }
        Ok(held)
    }

    /// Which of `oids` the remote lacks (`status --remote`), in order.
    pub fn missing_on_remote(&self, oids: &[Oid]) -> Result<Vec<Oid>, RemoteError> {
        let held = self.exists(oids)?;
        Ok(oids.iter().filter(|o| !held.contains(o)).copied().collect())
    }

    /// Every object on the remote, with its size where the listing says it.
    pub fn list(&self) -> Result<Vec<(Oid, Option<u64>)>, RemoteError> {
        self.rt.block_on(self.remote.list())
    }

    /// Deletes `oids` from the remote (gc), as many at once as the budget
    /// holds, each with the usual retries; returns those that failed, with
    /// why. One request after another, a sweep of thousands of objects was
    /// thousands of round trips end to end.
    pub fn delete_all(&self, oids: &[Oid]) -> Vec<(Oid, RemoteError)> {
        self.each(
            oids.to_vec(),
            false,
            |_| self.one_request(),
            |oid| {
                let remote = self.remote.clone();
                async move { with_retries(|| remote.delete(&oid)).await }
            },
        )
        .into_iter()
        .filter_map(|(oid, r)| r.err().map(|e| (oid, e)))
        .collect()
    }

    /// Removes what interrupted uploads left on the remote (gc); returns
    /// the files and bytes removed.
    pub fn remove_stale_temps(&self) -> Result<(usize, u64), RemoteError> {
        self.rt.block_on(self.remote.remove_stale_temps())
    }

    /// Downloads each of `objects` (as [`Transfer::list`] gives them) into
    /// a scratch cache, verifying it, and returns those that are corrupt or
    /// unreadable, with why, in order (`fsck --remote`). Nothing enters the
    /// engine's cache. An object weighs what its listed size costs; one
    /// listed without a size, a single request.
    pub fn verify(
        &self,
        objects: &[(Oid, Option<u64>)],
    ) -> std::io::Result<Vec<(Oid, RemoteError)>> {
        let scratch = tempfile::tempdir()?;
        let cache = Cache::new(scratch.path());
        let bar = Progress::new(
            "Verifying",
            objects.len() as u64,
            total(objects.iter().filter_map(|(_, n)| *n)),
        );
        let slots = |(_, size): &(Oid, Option<u64>)| match size {
            Some(n) => self.remote.slots_for(*n),
            None => self.one_request(),
        };
        let results = self.each(objects.to_vec(), true, slots, |(oid, size)| {
            let (remote, cache, bar) = (self.remote.clone(), cache.clone(), bar.clone());
            async move {
                let r = with_retries(|| remote.download(&oid, size, &cache)).await;
                let _ = cache.remove(&oid);
                bar.object_done(size.unwrap_or(0));
                r
            }
        });
        bar.finish();
        Ok(results
            .into_iter()
            .filter_map(|((oid, _), r)| r.err().map(|e| (oid, e)))
            .collect())
    }
}

/// The bytes of objects in all, for a progress line. Sizes come from
/// committed pointers and remote listings, hostile until an object is
/// checked: the sum of two enormous ones saturates instead of overflowing.
fn total(sizes: impl Iterator<Item = u64>) -> u64 {
    sizes.fold(0, u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A budget never asks for more room than it has: an object that
    /// wants more requests than the whole budget still runs, alone.
    #[test]
    fn a_budget_gives_at_most_what_it_has() {
        let rt = crate::runtime::get().unwrap();
        let budget = Budget::new(4);
        let all = budget.take_blocking(rt, 100).expect("the whole budget");
        assert_eq!(all.num_permits(), 4);
        drop(all);
        let one = budget.take_blocking(rt, 1).unwrap();
        let three = budget.take_blocking(rt, 3).unwrap();
        assert_eq!((one.num_permits(), three.num_permits()), (1, 3));
    }
}
