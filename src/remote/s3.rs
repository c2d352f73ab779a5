//! S3 and S3-compatible stores (MinIO, Ceph, R2…) through aws-sdk-s3.
//!
//! Credentials come from the standard AWS chain (environment, shared
//! credentials and `profile`), never from git-dvc's config. With a custom
//! `endpoint`, path-style addressing is used, as S3-compatible stores
//! expect. Uploads carry the object's SHA-256 — which *is* its id — as the
//! S3 checksum, so the store itself rejects damaged bytes. Objects larger
//! than `[transfer] part_size` go up as a multipart upload and come down as
//! ranged GETs, `[transfer] part_jobs` parts at a time, each retried on its
//! own ([`super::parts`]). Bodies stream from the file (unsigned payload:
//! the object was hashed before the upload, and the store checks the
//! SHA-256 of a single PUT), so memory does not grow with object size.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    Region, RequestChecksumCalculation, ResponseChecksumValidation, retry::RetryConfig,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures_util::{StreamExt, TryStreamExt};
use tokio::sync::OnceCell;

use super::parts::{self, RangedGet, Reply, part_with_retries};
use super::{Remote, RemoteError, object_key};
use crate::cache::Cache;
use crate::config::{Parts, RemoteConfig};
use crate::oid::Oid;

/// S3's smallest part (all but the last): a smaller `part_size` is raised
/// to it for uploads.
const MIN_PART: u64 = 5 << 20;
/// S3's most parts in one upload: the part size grows for huge objects.
const MAX_PARTS: u64 = 10_000;
/// Read size of an upload body: the default 4 KiB costs a thread hop per
/// read on tokio's file I/O.
const BODY_BUF: usize = 256 << 10;
/// Prefix listings of one batch in flight at once.
const LIST_JOBS: usize = 16;
/// A batch touching at least this many two-hex prefixes first tries one
/// listing of the whole remote: a remote that fits in one page (1,000
/// keys) answers in one request instead of hundreds.
const WHOLE_LIST_AT: usize = 32;
/// A multipart upload started this long ago was abandoned (its push was
/// killed before it could abort it): gc aborts it, so the store stops
/// keeping, and billing, its parts. A younger one may be a push still
/// running elsewhere. A day, as rclone's `cleanup` and S3 lifecycle rules
/// (counted in days) use.
const STALE_UPLOAD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Objects in a bucket, under a key prefix.
pub struct S3Remote {
    name: String,
    bucket: String,
    prefix: String,
    endpoint: Option<String>,
    region: Option<String>,
    profile: Option<String>,
    parts: Parts,
    client: OnceCell<Client>,
}

impl S3Remote {
    /// `bucket_and_prefix` is the URL without `s3://`.
    pub fn new(
        name: &str,
        bucket_and_prefix: &str,
        cfg: &RemoteConfig,
    ) -> Result<S3Remote, RemoteError> {
        let (bucket, prefix) = bucket_and_prefix
            .split_once('/')
            .unwrap_or((bucket_and_prefix, ""));
        if bucket.is_empty() {
            return Err(RemoteError::Config {
                remote: name.to_string(),
                message: "the URL names no bucket (s3://bucket/prefix)".into(),
            });
        }
        Ok(S3Remote {
            name: name.to_string(),
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            endpoint: cfg.endpoint.clone(),
            region: cfg.region.clone(),
            profile: cfg.profile.clone(),
            parts: cfg.parts,
            client: OnceCell::new(),
        })
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .build_https();
                let mut loader =
                    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
                if let Some(p) = &self.profile {
                    loader = loader.profile_name(p);
                }
                if let Some(r) = &self.region {
                    loader = loader.region(Region::new(r.clone()));
                }
                if let Some(e) = &self.endpoint {
                    loader = loader.endpoint_url(e);
                }
                let sdk = loader.load().await;
                let mut b = aws_sdk_s3::config::Builder::from(&sdk)
                    // The transfer engine retries with its own backoff.
                    .retry_config(RetryConfig::disabled())
                    .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                    .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
                if self.endpoint.is_some() {
                    b = b.force_path_style(true);
                }
                if sdk.region().is_none() {
                    b = b.region(Region::new("us-east-1"));
                }
                Client::from_conf(b.build())
            })
            .await
    }

    fn key(&self, oid: &Oid) -> String {
        if self.prefix.is_empty() {
            object_key(oid)
        } else {
            format!("{}/{}", self.prefix, object_key(oid))
        }
    }

    fn classify<E>(&self, what: &str, err: SdkError<E>) -> RemoteError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let remote = self.name.clone();
        match &err {
            SdkError::ServiceError(se) => {
                let status = se.raw().status().as_u16();
                let code = se.err().code().unwrap_or("");
                let msg = se.err().message().unwrap_or("");
                // The answer to a HEAD has no body, so no code: the status
                // line is all there is.
                let reason = if code.is_empty() && msg.is_empty() {
                    bodyless_reason(status)
                } else {
                    ""
                };
                let mut message = format!("{what}: {status} {code} {msg}{reason}")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                // S3 names the bucket's region when a request went to
                // another one (301, or 400 for a signature of the wrong
                // region): the one fix worth saying.
                let there = se.raw().headers().get("x-amz-bucket-region");
                if let Some(there) = there
                    .filter(|r| matches!(status, 301 | 400) && self.region.as_deref() != Some(*r))
                {
                    message.push_str(&format!(
                        " (bucket '{}' is in region '{there}': git dvc remote set {} region {there})",
                        self.bucket, self.name
                    ));
                }
                if status >= 500 || status == 429 || code == "SlowDown" {
                    RemoteError::Transient { remote, message }
                } else if status == 401 || status == 403 {
                    RemoteError::Denied { remote, message }
                } else {
                    RemoteError::Failed { remote, message }
                }
            }
            SdkError::TimeoutError(_) | SdkError::ResponseError(_) => RemoteError::Transient {
                remote,
                message: format!("{what}: {}", causes(&err).join(": ")),
            },
            SdkError::DispatchFailure(d) => {
                let causes = causes(&err);
                let message = format!("{what}: {}", causes.join(": "));
                // A connection dropped before the answer (a reset, a
                // server restarting) is "other: transient" to the SDK.
                let transient_other =
                    d.as_other() == Some(aws_smithy_types::retry::ErrorKind::TransientError);
                if d.is_io() || d.is_timeout() || transient_other {
                    RemoteError::Transient { remote, message }
                } else if let Some(i) = causes.iter().position(|c| c.contains("credential")) {
                    RemoteError::Denied {
                        remote,
                        message: format!(
                            "{what}: no AWS credentials: {} (set AWS_ACCESS_KEY_ID and \
                             AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws)",
                            causes[i..].join(": ")
                        ),
                    }
                } else {
                    RemoteError::Failed { remote, message }
                }
            }
            _ => RemoteError::Failed {
                remote,
                message: format!("{what}: {}", causes(&err).join(": ")),
            },
        }
    }

    /// The size of each part of a multipart upload of `size` bytes.
    fn upload_part_size(&self, size: u64) -> u64 {
        self.parts.size.max(MIN_PART).max(size.div_ceil(MAX_PARTS))
    }

    /// Whether an object of `size` bytes goes up as a multipart upload.
    fn multipart(&self, size: u64) -> bool {
        size > self.upload_part_size(size)
    }

    /// A body streaming bytes `offset..offset + len` of `path`.
    async fn file_body(
        &self,
        path: &std::path::Path,
        offset: u64,
        len: u64,
    ) -> Result<ByteStream, RemoteError> {
        ByteStream::read_from()
            .path(path)
            .offset(offset)
            .length(Length::Exact(len))
            .buffer_size(BODY_BUF)
            .build()
            .await
            .map_err(|e| RemoteError::Failed {
                remote: self.name.clone(),
                message: format!("cannot read {}: {e}", path.display()),
            })
    }

    /// The objects under `sub` (below the remote's prefix), with their
    /// sizes, reading at most `max_pages` pages of 1,000 keys; true when
    /// that was all of them.
    async fn list_keys(
        &self,
        sub: &str,
        max_pages: Option<usize>,
    ) -> Result<(Vec<(Oid, u64)>, bool), RemoteError> {
        let base = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut pages = self
            .client()
            .await
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(format!("{base}{sub}"))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        let mut read = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.classify("list objects", e))?;
            read += 1;
            for obj in page.contents() {
                let oid = obj
                    .key()
                    .and_then(|k| k.get(base.len()..))
                    .and_then(super::oid_from_key);
                if let Some(oid) = oid {
                    out.push((
                        oid,
                        obj.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    ));
                }
            }
            if max_pages.is_some_and(|m| read >= m) {
                return Ok((out, !page.is_truncated().unwrap_or(false)));
            }
        }
        Ok((out, true))
    }

    async fn upload_multipart(
        &self,
        oid: &Oid,
        size: u64,
        cache: &Cache,
    ) -> Result<(), RemoteError> {
        let client = self.client().await;
        let key = self.key(oid);
        let path = cache.object_path(oid);
        let created = client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| self.classify(&format!("start upload of {oid}"), e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let part_size = self.upload_part_size(size);
        // The object is hashed while its parts go up, rather than in a
        // pass before: it becomes visible only on completion, which waits
        // for the hash and is never sent for a bad one (see
        // `upload_verifies`).
        let check = {
            let (cache, oid) = (cache.clone(), *oid);
            tokio::task::spawn_blocking(move || cache.verify(&oid, size))
        };
        let result: Result<Vec<CompletedPart>, RemoteError> = async {
            let sent: Result<Vec<CompletedPart>, RemoteError> =
                futures_util::stream::iter(parts::split(size, part_size).enumerate())
                    .map(|(i, range)| {
                        let (path, key, upload_id) = (&path, &key, &upload_id);
                        let number = i as i32 + 1;
                        part_with_retries(move || {
                            let range = range.clone();
                            async move {
                                let body = self
                                    .file_body(path, range.start, range.end - range.start)
                                    .await?;
                                let out = client
                                    .upload_part()
                                    .bucket(&self.bucket)
                                    .key(key)
                                    .upload_id(upload_id)
                                    .part_number(number)
                                    .content_length((range.end - range.start) as i64)
                                    .body(body)
                                    .send()
                                    .await
                                    .map_err(|e| {
                                        self.classify(&format!("upload part {number} of {oid}"), e)
                                    })?;
                                Ok(CompletedPart::builder()
                                    .part_number(number)
                                    .set_e_tag(out.e_tag().map(str::to_string))
                                    .build())
                            }
                        })
                    })
                    .buffered(self.parts.jobs.max(1))
                    .try_collect()
                    .await;
            // A corrupt object is the error to report even when a part
            // failed too: its quarantine takes the file from under the parts.
            check.await.map_err(|e| RemoteError::Failed {
                remote: self.name.clone(),
                message: format!("hash {oid}: {e}"),
            })??;
            let parts = sent?;
            client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts.clone()))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| self.classify(&format!("finish upload of {oid}"), e))?;
            Ok(parts)
        }
        .await;
        if let Err(e) = result {
            // Parts of a failed upload would be kept (and billed) by the
            // store until aborted.
            let _ = client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&key)
                .upload_id(&upload_id)
                .send()
                .await;
            return Err(e);
        }
        Ok(())
    }

    /// The unfinished multipart uploads of objects below the remote's root
    /// that started at least [`STALE_UPLOAD`] ago, as (key, upload id).
    async fn stale_uploads(&self) -> Result<Vec<(String, String)>, RemoteError> {
        let client = self.client().await;
        let base = self.full_key("");
        let now = std::time::SystemTime::now();
        let mut stale = Vec::new();
        let (mut key_marker, mut id_marker) = (None, None);
        loop {
            let page = match client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(&base)
                .set_key_marker(key_marker)
                .set_upload_id_marker(id_marker)
                .send()
                .await
            {
                Ok(page) => page,
                // A store without the request has no uploads gc can find.
                Err(SdkError::ServiceError(se))
                    if se.raw().status().as_u16() == 501
                        || se.err().code() == Some("NotImplemented") =>
                {
                    crate::ui::verbose(&format!(
                        "git-dvc: remote '{}' cannot list unfinished uploads",
                        self.name
                    ));
                    return Ok(Vec::new());
                }
                Err(e) => return Err(self.classify("list unfinished uploads", e)),
            };
            for u in page.uploads() {
                let (Some(key), Some(id)) = (u.key(), u.upload_id()) else {
                    continue;
                };
                // Only uploads of git-dvc objects: the rest of the bucket is
                // not this remote's to clean.
                if key
                    .get(base.len()..)
                    .and_then(super::oid_from_key)
                    .is_none()
                {
                    continue;
                }
                let age = u
                    .initiated()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok())
                    .and_then(|t| now.duration_since(t).ok());
                if age.is_some_and(|a| a >= STALE_UPLOAD) {
                    stale.push((key.to_string(), id.to_string()));
                }
            }
            key_marker = page.next_key_marker().map(str::to_string);
            id_marker = page.next_upload_id_marker().map(str::to_string);
            if !page.is_truncated().unwrap_or(false) || key_marker.is_none() {
                return Ok(stale);
            }
        }
    }

    /// The bytes the parts of an unfinished upload hold, as far as the
    /// store says (0 where it cannot).
    async fn upload_bytes(&self, key: &str, upload_id: &str) -> u64 {
        let client = self.client().await;
        let mut bytes = 0;
        let mut marker = None;
        loop {
            let Ok(page) = client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker)
                .send()
                .await
            else {
                return bytes;
            };
            bytes = page
                .parts()
                .iter()
                .filter_map(|p| p.size().and_then(|n| u64::try_from(n).ok()))
                .fold(bytes, u64::saturating_add);
            marker = page.next_part_number_marker().map(str::to_string);
            if !page.is_truncated().unwrap_or(false) || marker.is_none() {
                return bytes;
            }
        }
    }

    /// The key below the bucket of `key` below the remote's root.
    fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }
}

/// What went wrong, outermost first: each cause's own message, without
/// one that only repeats the last. (`DisplayErrorContext` ends with the
/// whole error's `Debug` form: the connector's internals, which a user
/// cannot act on.)
fn causes(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut at = Some(err);
    while let Some(e) = at {
        let m = e.to_string();
        if !m.is_empty() && !out.last().is_some_and(|l| l.ends_with(&m)) {
            out.push(m);
        }
        at = e.source();
    }
    out
}

#[async_trait]
impl RangedGet for S3Remote {
    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Reply, RemoteError> {
        let full = self.full_key(key);
        let out = self.get_object(key, Some(&range)).await?;
        let total =
            match out.content_range() {
                Some(cr) => Some(parts::content_range_total(cr, &range).ok_or_else(|| {
                    RemoteError::Failed {
                        remote: self.name.clone(),
                        message: format!(
                            "download {full}: asked for bytes {}-{}, the store answered {cr}",
                            range.start,
                            range.end.saturating_sub(1)
                        ),
                    }
                })?),
                None => None,
            };
        let len = out.content_length().and_then(|n| u64::try_from(n).ok());
        let body = self.body(out.body, full);
        Ok(match total {
            Some(total) => Reply::Part { total, body },
            None => Reply::Whole { len, body },
        })
    }
}

impl S3Remote {
    /// GetObject of `key`, or of bytes `range` of it. Nothing stored there
    /// is [`RemoteError::KeyNotFound`]; an empty object (which has no byte
    /// 0 to range over) is read whole.
    async fn get_object(
        &self,
        key: &str,
        range: Option<&Range<u64>>,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, RemoteError> {
        let full = self.full_key(key);
        let send = |range: Option<&Range<u64>>| {
            let asked = range.map(|r| format!("bytes={}-{}", r.start, r.end.saturating_sub(1)));
            let full = full.clone();
            async move {
                self.client()
                    .await
                    .get_object()
                    .bucket(&self.bucket)
                    .key(full)
                    .set_range(asked)
                    .send()
                    .await
            }
        };
        let status = |e: &SdkError<_>| match e {
            SdkError::ServiceError(se) => Some(se.raw().status().as_u16()),
            _ => None,
        };
        let r = match send(range).await {
            Err(e) if status(&e) == Some(416) && range.is_some_and(|r| r.start == 0) => {
                send(None).await
            }
            r => r,
        };
        r.map_err(|e| match status(&e) {
            Some(404) => RemoteError::KeyNotFound {
                key: key.to_string(),
                remote: self.name.clone(),
            },
            _ => self.classify(&format!("download {full}"), e),
        })
    }

    /// A response body as chunks, its failures transient.
    fn body(&self, body: ByteStream, full: String) -> parts::Body {
        let name = self.name.clone();
        Box::pin(futures_util::stream::try_unfold(body, move |mut body| {
            let (name, full) = (name.clone(), full.clone());
            async move {
                match body.try_next().await {
                    Ok(Some(chunk)) => Ok(Some((chunk, body))),
                    Ok(None) => Ok(None),
                    Err(e) => Err(RemoteError::Transient {
                        remote: name,
                        message: format!("download {full}: {e}"),
                    }),
                }
            }
        }))
    }
}

#[async_trait]
impl Remote for S3Remote {
    fn name(&self) -> &str {
        &self.name
    }

    async fn contains(&self, oid: &Oid, size: Option<u64>) -> Result<bool, RemoteError> {
        let r = self
            .client()
            .await
            .head_object()
            .bucket(&self.bucket)
            .key(self.key(oid))
            .send()
            .await;
        match r {
            Ok(head) => Ok(match (size, head.content_length()) {
                (Some(want), Some(have)) => i64::try_from(want).is_ok_and(|w| w == have),
                _ => true,
            }),
            Err(SdkError::ServiceError(se)) if se.raw().status().as_u16() == 404 => Ok(false),
            Err(e) => Err(self.classify(&format!("look up {oid}"), e)),
        }
    }

    async fn download(
        &self,
        oid: &Oid,
        size: Option<u64>,
        cache: &Cache,
    ) -> Result<u64, RemoteError> {
        parts::download(self, oid, size, cache, self.parts).await
    }

    /// A multipart upload hashes the object while its parts go up, and
    /// completes only when it matches; a single PUT is checked first by
    /// the engine.
    fn upload_verifies(&self, size: u64) -> bool {
        self.multipart(size)
    }

    fn slots_for(&self, size: u64) -> usize {
        parts::requests_for(self.parts, size)
    }

    async fn upload(&self, oid: &Oid, size: u64, cache: &Cache) -> Result<(), RemoteError> {
        cache.open(oid, size)?;
        if self.multipart(size) {
            return self.upload_multipart(oid, size, cache).await;
        }
        let path = cache.object_path(oid);
        let body = self.file_body(&path, 0, size).await?;
        self.client()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(oid))
            .content_length(size as i64)
            .checksum_sha256(aws_smithy_types::base64::encode(oid.as_bytes()))
            .body(body)
            .send()
            .await
            .map_err(|e| self.classify(&format!("upload {oid}"), e))?;
        Ok(())
    }

    async fn delete(&self, oid: &Oid) -> Result<(), RemoteError> {
        self.client()
            .await
            .delete_object()
            .bucket(&self.bucket)
            .key(self.key(oid))
            .send()
            .await
            .map_err(|e| self.classify(&format!("delete {oid}"), e))?;
        Ok(())
    }

    async fn get_raw(
        &self,
        key: &str,
        w: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, RemoteError> {
        let full = self.full_key(key);
        let out = self.get_object(key, None).await?;
        let expected = out.content_length().map(|n| n as u64);
        let mut body = out.body;
        let mut n = 0u64;
        while let Some(chunk) = body.try_next().await.map_err(|e| RemoteError::Transient {
            remote: self.name.clone(),
            message: format!("download {full}: {e}"),
        })? {
            w.write_all(&chunk).map_err(super::sink_err)?;
            n += chunk.len() as u64;
        }
        if let Some(e) = expected.filter(|e| *e != n) {
            return Err(RemoteError::Transient {
                remote: self.name.clone(),
                message: format!("download {full}: body cut short ({n} of {e} bytes)"),
            });
        }
        Ok(n)
    }
    async fn held(&self, oids: &[Oid]) -> Result<Option<HashMap<Oid, u64>>, RemoteError> {
        let wanted: HashSet<Oid> = oids.iter().copied().collect();
        let keep = |found: Vec<(Oid, u64)>| {
            found
                .into_iter()
                .filter(|(o, _)| wanted.contains(o))
                .collect::<HashMap<_, _>>()
        };
        let prefixes = super::prefixes(oids);
        if prefixes.len() >= WHOLE_LIST_AT {
            let (found, complete) = self.list_keys("", Some(1)).await?;
            if complete {
                return Ok(Some(keep(found)));
            }
        }
        let pages: Vec<Vec<(Oid, u64)>> = futures_util::stream::iter(prefixes)
            .map(|p| async move { self.list_keys(&format!("{p}/"), None).await.map(|r| r.0) })
            .buffer_unordered(LIST_JOBS)
            .try_collect()
            .await?;
        Ok(Some(keep(pages.into_iter().flatten().collect())))
    }

    /// Aborts the multipart uploads a killed push left (see
    /// [`STALE_UPLOAD`]); counts them and the bytes their parts held.
    async fn remove_stale_temps(&self) -> Result<(usize, u64), RemoteError> {
        let client = self.client().await;
        let (mut files, mut bytes) = (0, 0u64);
        let stale = match self.stale_uploads().await {
            Ok(stale) => stale,
            // A key allowed to push and delete but not to list uploads:
            // the sweep of objects stands, and the user learns why no
            // upload was aborted.
            Err(e @ RemoteError::Denied { .. }) => {
                crate::ui::warn(&format!("{e}; no unfinished upload was aborted"));
                return Ok((0, 0));
            }
            Err(e) => return Err(e),
        };
        for (key, id) in stale {
            let held = self.upload_bytes(&key, &id).await;
            let aborted = client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&key)
                .upload_id(&id)
                .send()
                .await;
            match aborted {
                Ok(_) => {
                    files += 1;
                    bytes = bytes.saturating_add(held);
                }
                // Finished or aborted meanwhile by someone else.
                Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("NoSuchUpload") => {}
                Err(e) => return Err(self.classify(&format!("abort the upload of {key}"), e)),
            }
        }
        Ok((files, bytes))
    }

    async fn list(&self) -> Result<Vec<(Oid, Option<u64>)>, RemoteError> {
        let (found, _) = self.list_keys("", None).await?;
        Ok(found.into_iter().map(|(o, n)| (o, Some(n))).collect())
    }
}

/// The reason phrase of a status S3 answers without a body (a HEAD's
/// error), so the message says more than a number.
fn bodyless_reason(status: u16) -> &'static str {
    match status {
        301 => " Moved Permanently",
        307 => " Temporary Redirect",
        400 => " Bad Request",
        403 => " Forbidden",
        404 => " Not Found",
        405 => " Method Not Allowed",
        _ => "",
    }
}
