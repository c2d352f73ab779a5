//! Real servers on 127.0.0.1, started and stopped by the tests themselves:
//! a static HTTP file server with switchable faults, and an S3-compatible
//! server (s3s-fs) with credentials.

use std::convert::Infallible;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::runtime::Runtime;

/// Switchable misbehaviour of the HTTP server.
#[derive(Default)]
pub(crate) struct Faults {
    /// Answer this many GET/HEAD/PUT requests with 500 first.
    pub fail_first: AtomicUsize,
    /// Announce the full length but send half the body.
    pub truncate: AtomicBool,
    /// Flip a byte of every body served.
    pub corrupt: AtomicBool,
    /// Refuse PUT with 405.
    pub read_only: AtomicBool,
    /// Answer PUT with this status (405, 501…) when not 0.
    pub put_status: AtomicUsize,
    /// Delay every response (to catch a transfer mid-way).
    pub delay_ms: AtomicUsize,
    /// Requests seen, by method.
    pub gets: AtomicUsize,
    /// PUT requests seen.
    pub puts: AtomicUsize,
    /// HEAD requests seen.
    pub heads: AtomicUsize,
    /// Most requests in flight at once.
    pub max_in_flight: AtomicUsize,
    in_flight: AtomicUsize,
    /// `user:password` required by Basic auth, when set.
    pub basic_auth: std::sync::Mutex<Option<String>>,
    /// A flaky network in front of it.
    pub flaky: Flaky,
    /// GET requests answered with part of a file (206).
    pub ranged: AtomicUsize,
    /// Ignore `Range` and send the whole file (200), as some servers do.
    pub ignore_range: AtomicBool,
    /// Answer the next ranged GET starting at this offset with 500, once.
    pub fail_range_at: std::sync::Mutex<Option<u64>>,
    /// Flip the first byte of every ranged answer starting at this offset.
    pub corrupt_range_at: std::sync::Mutex<Option<u64>>,
    /// Delay ranged answers that do not start at 0 by this many ms (to
    /// catch a download between parts).
    pub stall_later_parts_ms: AtomicUsize,
}

/// A flaky network in front of a server: every `every`-th request gets a
/// fault — a 500, a connection reset before any answer, a body cut half way
/// (the full length announced), or a slow answer — in turn. A request (its
/// method, path and range) is faulted at most once, so every transfer can
/// finish with retries; whether it does is what the tests check.
#[derive(Default)]
pub(crate) struct Flaky {
    /// Fault every `every`-th request (0: none).
    pub every: AtomicUsize,
    seen: AtomicUsize,
    faulted: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The faults injected, by kind, in order.
    pub injected: std::sync::Mutex<Vec<&'static str>>,
    /// Faults injected into requests for a part (a `Range`, a
    /// `partNumber`).
    pub on_parts: AtomicUsize,
}

impl Flaky {
    fn pick(&self, req: &Request<Incoming>) -> Option<&'static str> {
        let every = self.every.load(Ordering::SeqCst);
        if every == 0 {
            return None;
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        if n % every != every - 1 {
            return None;
        }
        let range = req.headers().get("range").map(|v| v.as_bytes().to_vec());
        let key = format!("{} {} {range:?}", req.method(), req.uri());
        if !self.faulted.lock().unwrap().insert(key) {
            return None;
        }
        let kinds = ["500", "reset", "cut body", "slow"];
        let mut kind = kinds[(n / every) % kinds.len()];
        // Only a GET's answer has a body to cut.
        if kind == "cut body" && req.method() != Method::GET {
            kind = "500";
        }
        self.injected.lock().unwrap().push(kind);
        if range.is_some() || req.uri().query().is_some_and(|q| q.contains("partNumber=")) {
            self.on_parts.fetch_add(1, Ordering::SeqCst);
        }
        Some(kind)
    }

    /// Answers `req` through `inner`, unless this request gets a fault.
    /// An `Err` makes hyper drop the connection: the client sees a reset.
    pub(crate) async fn call<B, E, Fut>(
        &self,
        req: Request<Incoming>,
        inner: impl FnOnce(Request<Incoming>) -> Fut,
    ) -> Result<Response<Body>, std::io::Error>
    where
        Fut: std::future::Future<Output = Result<Response<B>, E>>,
        B: hyper::body::Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: std::fmt::Display,
        E: std::fmt::Display,
    {
        let fault = self.pick(&req);
        match fault {
            Some("500") => {
                return Ok(respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<Error><Code>InternalError</Code><Message>injected</Message></Error>",
                ));
            }
            Some("reset") => return Err(std::io::Error::other("injected reset")),
            Some("slow") => tokio::time::sleep(Duration::from_millis(300)).await,
            _ => {}
        }
        let resp = inner(req)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let (parts, body) = resp.into_parts();
        if fault == Some("cut body") && parts.status.is_success() {
            let whole = body
                .collect()
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?
                .to_bytes();
            let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
                Ok(Frame::data(whole.slice(..whole.len() / 2))),
                Err(std::io::Error::other("injected cut")),
            ];
            let mut r = Response::from_parts(
                parts,
                BodyExt::boxed(StreamBody::new(futures_util::stream::iter(frames))),
            );
            r.headers_mut().insert("content-length", whole.len().into());
            return Ok(r);
        }
        let body = body
            .map_err(|e| std::io::Error::other(e.to_string()))
            .boxed();
        Ok(Response::from_parts(parts, body))
    }
}

/// The `first-last` of a `Range: bytes=first-last` header (last optional),
/// as a range of a file of `len` bytes; `None` when there is no such
/// header or it asks for nothing inside the file.
fn asked_range(req: &Request<Incoming>, len: usize) -> Option<std::ops::Range<usize>> {
    let v = req.headers().get("range")?.to_str().ok()?;
    let (first, last) = v.strip_prefix("bytes=")?.split_once('-')?;
    let first: usize = first.parse().ok()?;
    let end = match last {
        "" => len,
        l => len.min(l.parse::<usize>().ok()? + 1),
    };
    (first < end).then_some(first..end)
}

/// A static file server over a directory, like any web server exposing a
/// directory remote.
pub(crate) struct HttpServer {
    pub url: String,
    pub faults: Arc<Faults>,
    _rt: Runtime,
}

type Body = BoxBody<Bytes, std::io::Error>;

fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(
        Full::new(body.into())
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r
}

async fn handle(
    req: Request<Incoming>,
    root: PathBuf,
    f: Arc<Faults>,
) -> Result<Response<Body>, Infallible> {
    let now = f.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    f.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let r = serve(req, root, &f).await;
    f.in_flight.fetch_sub(1, Ordering::SeqCst);
    Ok(r)
}

async fn serve(req: Request<Incoming>, root: PathBuf, f: &Faults) -> Response<Body> {
    let delay = f.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    if let Some(expected) = f.basic_auth.lock().unwrap().clone() {
        let want = format!(
            "Basic {}",
            aws_smithy_types::base64::encode(expected.as_bytes())
        );
        let got = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if got != Some(want.as_str()) {
            let mut r = respond(StatusCode::UNAUTHORIZED, "");
            r.headers_mut()
                .insert("www-authenticate", "Basic realm=\"test\"".parse().unwrap());
            return r;
        }
    }
    let rel = req.uri().path().trim_start_matches('/').to_string();
    if rel.split('/').any(|c| c == ".." || c.is_empty()) {
        return respond(StatusCode::BAD_REQUEST, "");
    }
    let path = root.join(&rel);
    if f.fail_first.load(Ordering::SeqCst) > 0 {
        f.fail_first.fetch_sub(1, Ordering::SeqCst);
        return respond(StatusCode::INTERNAL_SERVER_ERROR, "try again");
    }
    match *req.method() {
        Method::GET | Method::HEAD => {
            let head = req.method() == Method::HEAD;
            if head {
                f.heads.fetch_add(1, Ordering::SeqCst);
            } else {
                f.gets.fetch_add(1, Ordering::SeqCst);
            }
            let Ok(body) = fs::read(&path) else {
                return respond(StatusCode::NOT_FOUND, "");
            };
            let len = body.len();
            if head {
                let mut r = respond(StatusCode::OK, "");
                r.headers_mut().insert("content-length", len.into());
                return r;
            }
            // A ranged answer is a 206 of the part; the faults below apply
            // to whatever body goes out.
            let range = asked_range(&req, len).filter(|_| !f.ignore_range.load(Ordering::SeqCst));
            let (status, mut body, content_range) = match range {
                Some(range) => {
                    let at = range.start as u64;
                    let stall = f.stall_later_parts_ms.load(Ordering::SeqCst);
                    if at > 0 && stall > 0 {
                        tokio::time::sleep(Duration::from_millis(stall as u64)).await;
                    }
                    {
                        let mut fail = f.fail_range_at.lock().unwrap();
                        if *fail == Some(at) {
                            *fail = None;
                            return respond(StatusCode::INTERNAL_SERVER_ERROR, "try again");
                        }
                    }
                    f.ranged.fetch_add(1, Ordering::SeqCst);
                    let mut part = body[range.clone()].to_vec();
                    if *f.corrupt_range_at.lock().unwrap() == Some(at) {
                        part[0] ^= 0xff;
                    }
                    let cr = format!("bytes {}-{}/{len}", range.start, range.end - 1);
                    (StatusCode::PARTIAL_CONTENT, part, Some(cr))
                }
                None => (StatusCode::OK, body, None),
            };
            let len = body.len();
            let headers = |r: &mut Response<Body>| {
                r.headers_mut().insert("content-length", len.into());
                if let Some(cr) = &content_range {
                    r.headers_mut().insert("content-range", cr.parse().unwrap());
                }
            };
            if f.corrupt.load(Ordering::SeqCst) && !body.is_empty() {
                body[0] ^= 0xff;
            }
            if f.truncate.load(Ordering::SeqCst) {
                // Send half, then break the connection mid-body.
                body.truncate(len / 2);
                let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
                    Ok(Frame::data(Bytes::from(body))),
                    Err(std::io::Error::other("connection cut")),
                ];
                let mut r = Response::new(BodyExt::boxed(StreamBody::new(
                    futures_util::stream::iter(frames),
                )));
                *r.status_mut() = status;
                headers(&mut r);
                return r;
            }
            let mut r = respond(status, body);
            headers(&mut r);
            r
        }
        Method::PUT => {
            f.puts.fetch_add(1, Ordering::SeqCst);
            if f.read_only.load(Ordering::SeqCst) {
                return respond(StatusCode::METHOD_NOT_ALLOWED, "");
            }
            let status = f.put_status.load(Ordering::SeqCst);
            if status != 0 {
                let status = StatusCode::from_u16(status as u16).unwrap();
                return respond(status, "");
            }
            let Ok(body) = req.into_body().collect().await else {
                return respond(StatusCode::BAD_REQUEST, "");
            };
            // Like any sane server: the object appears whole or not at all.
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            let tmp = path.with_extension("upload-tmp");
            fs::write(&tmp, body.to_bytes()).unwrap();
            fs::rename(&tmp, &path).unwrap();
            respond(StatusCode::CREATED, "")
        }
        _ => respond(StatusCode::METHOD_NOT_ALLOWED, ""),
    }
}

fn listen(rt: &Runtime) -> (tokio::net::TcpListener, String) {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let _guard = rt.enter();
    (
        tokio::net::TcpListener::from_std(std_listener).unwrap(),
        format!("http://{addr}"),
    )
}

impl HttpServer {
    /// Serves `root` (created if missing) on a free loopback port.
    pub(crate) fn start(root: &Path) -> HttpServer {
        fs::create_dir_all(root).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (listener, url) = listen(&rt);
        let faults = Arc::new(Faults::default());
        let (root2, faults2) = (root.to_path_buf(), faults.clone());
        rt.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let (root, faults) = (root2.clone(), faults2.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let (root, faults) = (root.clone(), faults.clone());
                        async move {
                            let f = faults.clone();
                            f.flaky.call(req, |req| handle(req, root, faults)).await
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        HttpServer {
            url,
            faults,
            _rt: rt,
        }
    }
}

/// An S3-compatible server (s3s-fs) with one bucket and one key pair.
pub(crate) struct S3Server {
    pub endpoint: String,
    pub root: PathBuf,
    /// A flaky network in front of it.
    pub flaky: Arc<Flaky>,
    pub faults: Arc<S3Faults>,
    /// Requests seen, by kind.
    pub requests: Arc<S3Requests>,
    uploads: Arc<OpenUploads>,
    _rt: Runtime,
}

/// What the S3 server saw, and its switchable misbehaviour, in front of
/// s3s-fs.
#[derive(Default)]
pub(crate) struct S3Faults {
    /// UploadPart requests seen (multipart uploads).
    pub part_uploads: AtomicUsize,
    /// GetObject requests with a `Range` header.
    pub ranged_gets: AtomicUsize,
    /// Answer this many UploadPart requests with 500 first.
    pub fail_part_uploads: AtomicUsize,
    /// Answer the next ranged GetObject starting at this offset with 500,
    /// once.
    pub fail_range_at: std::sync::Mutex<Option<u64>>,
    /// Never answer an UploadPart of this part number (0: none), as a
    /// network that stalls mid-upload.
    pub hang_part: AtomicUsize,
    /// Answer ListMultipartUploads with this status (501: a store without
    /// it, 403: a key not allowed it), when not 0.
    pub upload_listing_status: AtomicUsize,
    /// Answer every request as S3 does one sent to another region than
    /// its bucket's: 301, naming this region in `x-amz-bucket-region`.
    pub bucket_region: std::sync::Mutex<Option<String>>,
    /// Delay the answer to every GetObject by this many ms (so whatever
    /// may overlap does).
    pub get_delay_ms: AtomicUsize,
    /// Most GetObject requests in flight at once.
    pub max_gets_in_flight: AtomicUsize,
    gets_in_flight: AtomicUsize,
}

/// Whether `req` is an UploadPart of part `n`.
fn is_part(req: &Request<Incoming>, n: usize) -> bool {
    req.method() == Method::PUT
        && req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .any(|kv| kv == format!("partNumber={n}"))
}

/// Whether `req` is a GetObject (a GET with no query: not a listing).
fn is_object_get(req: &Request<Incoming>) -> bool {
    req.method() == Method::GET
        && req
            .uri()
            .query()
            .is_none_or(|q| q.starts_with("x-id=GetObject"))
}

/// An S3 error answer with `status` and `code`.
fn s3_error(status: StatusCode, code: &str) -> Response<s3s::Body> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected</Message></Error>"
    );
    let mut r = Response::new(s3s::Body::from(xml));
    *r.status_mut() = status;
    r
}

/// The canned answer to a request the faults say to fail, counting what
/// passes.
fn s3_fault(req: &Request<Incoming>, f: &S3Faults) -> Option<Response<s3s::Body>> {
    let query = req.uri().query().unwrap_or("");
    let fail = || Some(s3_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError"));
    if let Some(region) = f.bucket_region.lock().unwrap().clone() {
        let mut r = s3_error(StatusCode::MOVED_PERMANENTLY, "PermanentRedirect");
        r.headers_mut()
            .insert("x-amz-bucket-region", region.parse().unwrap());
        return Some(r);
    }
    let listing = f.upload_listing_status.load(Ordering::SeqCst);
    if listing != 0
        && req.method() == Method::GET
        && query
            .split('&')
            .any(|kv| kv == "uploads" || kv.starts_with("uploads="))
    {
        let code = if listing == 403 {
            "AccessDenied"
        } else {
            "NotImplemented"
        };
        return Some(s3_error(
            StatusCode::from_u16(listing as u16).unwrap(),
            code,
        ));
    }
    if req.method() == Method::PUT && query.contains("partNumber=") {
        f.part_uploads.fetch_add(1, Ordering::SeqCst);
        let left = f.fail_part_uploads.load(Ordering::SeqCst);
        if left > 0 {
            f.fail_part_uploads.store(left - 1, Ordering::SeqCst);
            return fail();
        }
    }
    let start = req
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split('-').next())
        .and_then(|v| v.parse::<u64>().ok());
    if let (&Method::GET, Some(start)) = (req.method(), start) {
        let mut at = f.fail_range_at.lock().unwrap();
        if *at == Some(start) {
            *at = None;
            return fail();
        }
        f.ranged_gets.fetch_add(1, Ordering::SeqCst);
    }
    None
}

/// What an S3 client asked the server, by kind: how a test tells a
/// listing from a HEAD per object.
#[derive(Default)]
pub(crate) struct S3Requests {
    /// `ListObjectsV2` (GET on the bucket with `list-type=2`).
    pub lists: AtomicUsize,
    /// HEAD of an object.
    pub heads: AtomicUsize,
    /// GET of an object.
    pub gets: AtomicUsize,
    /// PUT of an object or a part.
    pub puts: AtomicUsize,
}

impl S3Requests {
    fn note(&self, method: &Method, uri: &hyper::Uri) {
        let counter = match *method {
            Method::HEAD => &self.heads,
            Method::PUT => &self.puts,
            Method::GET if uri.query().is_some_and(|q| q.contains("list-type=2")) => &self.lists,
            Method::GET => &self.gets,
            _ => return,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }

    /// Lists, HEADs, GETs and PUTs so far, and back to zero.
    pub(crate) fn take(&self) -> [usize; 4] {
        [&self.lists, &self.heads, &self.gets, &self.puts].map(|c| c.swap(0, Ordering::SeqCst))
    }
}

/// The multipart uploads begun and not yet completed or aborted, by
/// (bucket, key, upload id), with the time each began.
type OpenUploads =
    std::sync::Mutex<std::collections::BTreeMap<(String, String, String), std::time::SystemTime>>;

/// s3s-fs, which keeps no record of which key an unfinished multipart
/// upload is for and so cannot list them, with that record and
/// ListMultipartUploads answered from it (as S3 answers it).
struct ListsUploads {
    fs: s3s_fs::FileSystem,
    open: Arc<OpenUploads>,
}

/// Methods passed to s3s-fs as they are (written as `async_trait` expands
/// them, since that attribute does not reach into a macro).
macro_rules! pass {
    ($($method:ident($input:ident) -> $output:ident;)*) => {$(
        fn $method<'a, 'b>(
            &'a self,
            req: s3s::S3Request<s3s::dto::$input>,
        ) -> std::pin::Pin<Box<
            dyn std::future::Future<Output = s3s::S3Result<s3s::S3Response<s3s::dto::$output>>>
                + Send
                + 'b,
        >>
        where
            'a: 'b,
            Self: 'b,
        {
            self.fs.$method(req)
        }
    )*};
}

#[async_trait::async_trait]
impl s3s::S3 for ListsUploads {
    pass! {
        create_bucket(CreateBucketInput) -> CreateBucketOutput;
        delete_object(DeleteObjectInput) -> DeleteObjectOutput;
        delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
        get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
        get_object(GetObjectInput) -> GetObjectOutput;
        head_bucket(HeadBucketInput) -> HeadBucketOutput;
        head_object(HeadObjectInput) -> HeadObjectOutput;
        list_buckets(ListBucketsInput) -> ListBucketsOutput;
        list_objects(ListObjectsInput) -> ListObjectsOutput;
        list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
        put_object(PutObjectInput) -> PutObjectOutput;
        upload_part(UploadPartInput) -> UploadPartOutput;
        list_parts(ListPartsInput) -> ListPartsOutput;
    }

    async fn create_multipart_upload(
        &self,
        req: s3s::S3Request<s3s::dto::CreateMultipartUploadInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::CreateMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let out = self.fs.create_multipart_upload(req).await?;
        if let Some(id) = &out.output.upload_id {
            let began = std::time::SystemTime::now();
            self.open
                .lock()
                .unwrap()
                .insert((bucket, key, id.clone()), began);
        }
        Ok(out)
    }

    async fn complete_multipart_upload(
        &self,
        req: s3s::S3Request<s3s::dto::CompleteMultipartUploadInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::CompleteMultipartUploadOutput>> {
        let i = &req.input;
        let id = (i.bucket.clone(), i.key.clone(), i.upload_id.clone());
        let out = self.fs.complete_multipart_upload(req).await?;
        self.open.lock().unwrap().remove(&id);
        Ok(out)
    }

    async fn abort_multipart_upload(
        &self,
        req: s3s::S3Request<s3s::dto::AbortMultipartUploadInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::AbortMultipartUploadOutput>> {
        let i = &req.input;
        let id = (i.bucket.clone(), i.key.clone(), i.upload_id.clone());
        if !self.open.lock().unwrap().contains_key(&id) {
            return Err(s3s::s3_error!(NoSuchUpload));
        }
        let out = self.fs.abort_multipart_upload(req).await?;
        self.open.lock().unwrap().remove(&id);
        Ok(out)
    }

    async fn list_multipart_uploads(
        &self,
        req: s3s::S3Request<s3s::dto::ListMultipartUploadsInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::ListMultipartUploadsOutput>> {
        let i = &req.input;
        let prefix = i.prefix.clone().unwrap_or_default();
        let uploads = self
            .open
            .lock()
            .unwrap()
            .iter()
            .filter(|((b, k, _), _)| *b == i.bucket && k.starts_with(&prefix))
            .map(|((_, key, id), began)| s3s::dto::MultipartUpload {
                key: Some(key.clone()),
                upload_id: Some(id.clone()),
                initiated: Some((*began).into()),
                ..Default::default()
            })
            .collect();
        Ok(s3s::S3Response::new(s3s::dto::ListMultipartUploadsOutput {
            bucket: Some(i.bucket.clone()),
            prefix: i.prefix.clone(),
            is_truncated: Some(false),
            uploads: Some(uploads),
            ..Default::default()
        }))
    }
}

pub(crate) const S3_KEY: &str = "AKIDGITDVCTEST";
pub(crate) const S3_SECRET: &str = "secret-for-tests-only";

impl S3Server {
    /// Serves `root` with bucket `bucket`.
    pub(crate) fn start(root: &Path, bucket: &str) -> S3Server {
        fs::create_dir_all(root.join(bucket)).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (listener, endpoint) = listen(&rt);
        let uploads = Arc::new(OpenUploads::default());
        let fs_impl = ListsUploads {
            fs: s3s_fs::FileSystem::new(root).unwrap(),
            open: uploads.clone(),
        };
        let mut builder = s3s::service::S3ServiceBuilder::new(fs_impl);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(S3_KEY, S3_SECRET));
        let service = builder.build().into_shared();
        let flaky = Arc::new(Flaky::default());
        let flaky2 = flaky.clone();
        let faults = Arc::new(S3Faults::default());
        let faults2 = faults.clone();
        let requests = Arc::new(S3Requests::default());
        let counts = requests.clone();
        rt.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let (service, flaky, faults, counts) = (
                    service.clone(),
                    flaky2.clone(),
                    faults2.clone(),
                    counts.clone(),
                );
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let (service, flaky, faults, counts) = (
                            service.clone(),
                            flaky.clone(),
                            faults.clone(),
                            counts.clone(),
                        );
                        async move {
                            flaky
                                .call(req, |req| async move {
                                    counts.note(req.method(), req.uri());
                                    if let Some(r) = s3_fault(&req, &faults) {
                                        return Ok(r);
                                    }
                                    let hang = faults.hang_part.load(Ordering::SeqCst);
                                    if hang > 0 && is_part(&req, hang) {
                                        tokio::time::sleep(Duration::from_secs(600)).await;
                                    }
                                    if !is_object_get(&req) {
                                        return hyper::service::Service::call(&service, req).await;
                                    }
                                    let f = &faults;
                                    let now = f.gets_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                                    f.max_gets_in_flight.fetch_max(now, Ordering::SeqCst);
                                    let delay = f.get_delay_ms.load(Ordering::SeqCst) as u64;
                                    tokio::time::sleep(Duration::from_millis(delay)).await;
                                    let r = hyper::service::Service::call(&service, req).await;
                                    f.gets_in_flight.fetch_sub(1, Ordering::SeqCst);
                                    r
                                })
                                .await
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        S3Server {
            endpoint,
            root: root.to_path_buf(),
            flaky,
            faults,
            requests,
            uploads,
            _rt: rt,
        }
    }

    /// The keys of the multipart uploads begun and not yet completed or
    /// aborted.
    pub(crate) fn open_uploads(&self) -> Vec<String> {
        let open = self.uploads.lock().unwrap();
        open.keys().map(|(_, key, _)| key.clone()).collect()
    }

    /// Moves the start of every open multipart upload `by` into the past.
    pub(crate) fn age_uploads(&self, by: Duration) {
        for began in self.uploads.lock().unwrap().values_mut() {
            *began -= by;
        }
    }

    /// The objects stored under `bucket/prefix`, as paths relative to it.
    pub(crate) fn objects(&self, bucket_and_prefix: &str) -> Vec<String> {
        let base = self.root.join(bucket_and_prefix);
        let mut out = Vec::new();
        walk(&base, &base, &mut out);
        out.sort();
        out
    }
}

/// Files under `dir`, relative to `base`, skipping s3s-fs's own metadata.
pub(crate) fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(base, &p, out);
        } else {
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            if !rel.starts_with(".") && !rel.contains("/.") {
                out.push(rel);
            }
        }
    }
}
