//! Big objects in parts: one download routine for every backend that can
//! read a byte range (S3's ranged GetObject, an HTTP server answering 206),
//! and the per-part retry both directions use.
//!
//! A download asks for the first part (`[transfer] part_size` bytes) and
//! learns the object's size from the answer. An object that fits, or a
//! server that ignores the range and sends everything (200), costs one
//! request streamed into the cache as before. Otherwise the remaining parts
//! follow, `[transfer] part_jobs` at a time, each written at its offset into
//! one locked temp file in the cache ([`RangedWriter`]) and hashed in order
//! as the prefix without holes grows; the object is renamed into place only
//! when the whole file hashes to its id. Memory is the parts in flight
//! times the chunks each one holds, never the object's size.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};

use super::retry::{ATTEMPTS, with_retries};
use super::{Remote, RemoteError, object_key, sink_err, verify_err};
use crate::cache::{Cache, RangedWriter};
use crate::config::Parts;
use crate::oid::Oid;

/// A response body, chunk by chunk.
pub(crate) type Body = Pin<Box<dyn Stream<Item = Result<Bytes, RemoteError>> + Send>>;

/// What a server answered to a ranged read.
pub(crate) enum Reply {
    /// The range asked for (206), and the size of the whole object.
    Part {
        /// The whole object's size, from `Content-Range`.
        total: u64,
        /// The range's bytes.
        body: Body,
    },
    /// The whole object (200: the server ignores ranges), of `len` bytes
    /// when the server said.
    Whole {
        /// `Content-Length`, when given.
        len: Option<u64>,
        /// Every byte of the object.
        body: Body,
    },
}

/// A backend that can read part of what is stored at a key.
#[async_trait]
pub(crate) trait RangedGet: Remote {
    /// Asks for bytes `range` of `key` (below the remote's root). A backend
    /// checks that a partial answer is the range asked for (clipped to the
    /// object's end) and answers [`RemoteError::KeyNotFound`] when nothing
    /// is stored there.
    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Reply, RemoteError>;
}

/// Runs one part of a transfer, retrying its transient failures. A part
/// that still fails after every attempt fails the object for good: the
/// engine's retry of the whole object would only repeat the parts that
/// went through.
pub(crate) async fn part_with_retries<T, F, Fut>(op: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RemoteError>>,
{
    match with_retries(op).await {
        Err(RemoteError::Transient { remote, message }) => Err(RemoteError::Failed {
            remote,
            message: format!("{message} (gave up after {ATTEMPTS} attempts)"),
        }),
        other => other,
    }
}

/// The ranges an object of `total` bytes is split into, `size` bytes each
/// but the last.
pub(crate) fn split(total: u64, size: u64) -> impl Iterator<Item = Range<u64>> {
    let size = size.max(1);
    (0..total.div_ceil(size)).map(move |i| i * size..total.min((i + 1).saturating_mul(size)))
}

/// Requests in flight for an object of `size` bytes split as `parts` says
/// (what it costs of [`Remote::slots_for`]): one for an object that fits
/// in one part, else its parts in flight.
pub(crate) fn requests_for(parts: Parts, size: u64) -> usize {
    match size > parts.size {
        true => parts
            .jobs
            .max(1)
            .min(usize::try_from(size.div_ceil(parts.size.max(1))).unwrap_or(usize::MAX)),
        false => 1,
    }
}

/// Downloads object `oid` into `cache` from `r`, in parts when it is larger
/// than `parts.size` and the server honours ranges; verified before it is
/// stored. Returns its size. `size` (the pointer's, when known) is checked
/// against the size the first answer announces, and bounds what a body may
/// hold: a wrong or endless answer stops there.
pub(crate) async fn download<R: RangedGet + ?Sized>(
    r: &R,
    oid: &Oid,
    size: Option<u64>,
    cache: &Cache,
    parts: Parts,
) -> Result<u64, RemoteError> {
    let key = object_key(oid);
    let not_found = |e| match e {
        RemoteError::KeyNotFound { remote, .. } => RemoteError::NotFound { oid: *oid, remote },
        e => e,
    };
    let announced = |n: u64| match size {
        Some(expected) if expected != n => Err(wrong_size(r, oid, expected, n)),
        _ => Ok(()),
    };
    let (total, first) = match r.get_range(&key, 0..parts.size).await.map_err(not_found)? {
        Reply::Whole { len, body } => {
            len.map_or(Ok(()), announced)?;
            return download_whole(r, oid, size, cache, len, body).await;
        }
        Reply::Part { total, body } if total <= parts.size => {
            announced(total)?;
            return download_whole(r, oid, size, cache, Some(total), body).await;
        }
        Reply::Part { total, body } => {
            announced(total)?;
            (total, body)
        }
    };
    let w = cache.ranged_writer(oid)?;
    // The first part's answer is in hand: its first attempt uses it.
    let first = Mutex::new(Some(first));
    futures_util::stream::iter(split(total, parts.size))
        .map(|range| {
            let (w, key, first) = (&w, &key, &first);
            async move {
                part_with_retries(|| async {
                    let probe = if range.start == 0 {
                        first.lock().expect("not poisoned").take()
                    } else {
                        None
                    };
                    let body = match probe {
                        Some(body) => body,
                        None => match r.get_range(key, range.clone()).await.map_err(not_found)? {
                            Reply::Part { total: t, body } if t == total => body,
                            Reply::Part { total: t, .. } => {
                                return Err(RemoteError::Failed {
                                    remote: r.name().to_string(),
                                    message: format!(
                                        "object {oid} changed size during the download ({total} then {t} bytes)"
                                    ),
                                });
                            }
                            Reply::Whole { .. } => {
                                return Err(RemoteError::Failed {
                                    remote: r.name().to_string(),
                                    message: format!(
                                        "the server stopped answering ranged requests during the download of {oid}"
                                    ),
                                });
                            }
                        },
                    };
                    write_part(r, w, range.clone(), body).await
                })
                .await?;
                w.done(range);
                Ok::<(), RemoteError>(())
            }
        })
        .buffer_unordered(parts.jobs.max(1))
        .try_collect::<()>()
        .await?;
    let oid2 = *oid;
    tokio::task::spawn_blocking(move || w.commit_expecting(&oid2))
        .await
        .map_err(|e| RemoteError::Failed {
            remote: r.name().to_string(),
            message: e.to_string(),
        })?
        .map_err(|e| verify_err(r.name(), e))
}

/// `r` answered `answered` bytes for `oid`, of `expected`.
fn wrong_size<R: Remote + ?Sized>(r: &R, oid: &Oid, expected: u64, answered: u64) -> RemoteError {
    RemoteError::WrongSize {
        oid: *oid,
        remote: r.name().to_string(),
        expected,
        answered,
    }
}

/// Streams one body, the whole object, into a new cache object hashed on
/// the way; one that runs past `size` (the pointer's) stops there.
async fn download_whole<R: Remote + ?Sized>(
    r: &R,
    oid: &Oid,
    size: Option<u64>,
    cache: &Cache,
    len: Option<u64>,
    mut body: Body,
) -> Result<u64, RemoteError> {
    use std::io::Write;
    let mut w = cache.writer_for(oid)?;
    while let Some(chunk) = body.try_next().await? {
        let held = w.len().saturating_add(chunk.len() as u64);
        if let Some(expected) = size.filter(|s| held > *s) {
            return Err(wrong_size(r, oid, expected, held));
        }
        w.write_all(&chunk).map_err(sink_err)?;
    }
    if let Some(len) = len.filter(|l| *l != w.len()) {
        return Err(RemoteError::Transient {
            remote: r.name().to_string(),
            message: format!(
                "download of {oid}: body cut short ({} of {len} bytes)",
                w.len()
            ),
        });
    }
    w.commit_expecting(oid).map_err(|e| verify_err(r.name(), e))
}

/// Writes the body of part `range` at its offset; a body of any other
/// length is a transient failure (the part is asked for again).
async fn write_part<R: Remote + ?Sized>(
    r: &R,
    w: &RangedWriter,
    range: Range<u64>,
    mut body: Body,
) -> Result<(), RemoteError> {
    let mut at = range.start;
    let cut = |at: u64| RemoteError::Transient {
        remote: r.name().to_string(),
        message: format!(
            "bytes {}-{}: the server sent {} of {} bytes",
            range.start,
            range.end - 1,
            at - range.start,
            range.end - range.start
        ),
    };
    while let Some(chunk) = body.try_next().await? {
        let end = at + chunk.len() as u64;
        if end > range.end {
            return Err(cut(end));
        }
        w.write_at(&chunk, at).map_err(sink_err)?;
        at = end;
    }
    if at != range.end {
        return Err(cut(at));
    }
    Ok(())
}

/// Parses `Content-Range: bytes <first>-<last>/<total>` and checks it is
/// `asked` (clipped to the object's end); returns the total. `None` when it
/// is malformed, another range, or of unknown total (`/*`).
pub(crate) fn content_range_total(header: &str, asked: &Range<u64>) -> Option<u64> {
    let rest = header.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let total: u64 = total.trim().parse().ok()?;
    let (first, last) = span.split_once('-')?;
    let (first, last): (u64, u64) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
    let want_last = asked.end.min(total).checked_sub(1)?;
    (first == asked.start && last == want_last).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_the_object_once() {
        let r: Vec<_> = split(10, 4).collect();
        assert_eq!(r, vec![0..4, 4..8, 8..10]);
        assert_eq!(split(8, 4).count(), 2);
        assert_eq!(split(0, 4).count(), 0);
    }

    #[test]
    fn a_big_object_takes_a_request_per_part_in_flight() {
        let parts = Parts {
            size: 16 << 20,
            jobs: 8,
        };
        assert_eq!(requests_for(parts, 0), 1);
        assert_eq!(requests_for(parts, 16 << 20), 1);
        assert_eq!(requests_for(parts, (16 << 20) + 1), 2);
        assert_eq!(requests_for(parts, 1 << 30), 8);
        let odd = Parts { size: 0, jobs: 0 };
        assert_eq!(requests_for(odd, 1 << 30), 1);
    }

    #[test]
    fn content_range_must_be_the_range_asked() {
        assert_eq!(content_range_total("bytes 0-3/10", &(0..4)), Some(10));
        assert_eq!(content_range_total("bytes 8-9/10", &(8..12)), Some(10));
        assert_eq!(content_range_total("bytes 0-9/10", &(0..4)), None);
        assert_eq!(content_range_total("bytes 0-3/*", &(0..4)), None);
        assert_eq!(content_range_total("items 0-3/10", &(0..4)), None);
    }
}
