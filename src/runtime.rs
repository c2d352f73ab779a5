//! The one async runtime: built on first use, so a command that never
//! talks to a remote (a filter that finds everything in the cache) never
//! starts it. Every async call in git-dvc goes through [`block_on`] or
//! [`spawn`]; nothing else builds a runtime.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The runtime, built on the first call. Worker threads do I/O, not
/// hashing (that goes to `spawn_blocking`), so a few are plenty; how many
/// transfers run at once is the engine's `jobs`, not this.
pub fn get() -> std::io::Result<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let threads = std::thread::available_parallelism()
        .map(std::num::NonZero::get)
        .unwrap_or(2)
        .clamp(2, 8);
    let rt = Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    // Two threads racing to build it: one wins, the other's is dropped.
    let _ = RUNTIME.set(rt);
    Ok(RUNTIME.get().expect("just set"))
}

/// Runs `f` to completion on the runtime, from synchronous code.
///
/// # Panics
/// When the runtime cannot be built (no threads left); callers that can
/// report that call [`get`] first, as [`crate::transfer::Transfer::new`]
/// does.
pub fn block_on<F: Future>(f: F) -> F::Output {
    get().expect("the async runtime can be built").block_on(f)
}
