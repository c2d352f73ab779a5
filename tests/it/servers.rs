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
            let Ok(mut body) = fs::read(&path) else {
                return respond(StatusCode::NOT_FOUND, "");
            };
            let len = body.len();
            if head {
                let mut r = respond(StatusCode::OK, "");
                r.headers_mut().insert("content-length", len.into());
                return r;
            }
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
                r.headers_mut().insert("content-length", len.into());
                return r;
            }
            let mut r = respond(StatusCode::OK, body);
            r.headers_mut().insert("content-length", len.into());
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
                        handle(req, root.clone(), faults.clone())
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
    /// Requests seen, by kind.
    pub requests: Arc<S3Requests>,
    _rt: Runtime,
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
        let fs_impl = s3s_fs::FileSystem::new(root).unwrap();
        let mut builder = s3s::service::S3ServiceBuilder::new(fs_impl);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(S3_KEY, S3_SECRET));
        let service = builder.build().into_shared();
        let requests = Arc::new(S3Requests::default());
        let counts = requests.clone();
        rt.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let (service, counts) = (service.clone(), counts.clone());
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    counts.note(req.method(), req.uri());
                    hyper::service::Service::call(&service, req)
                });
                tokio::spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        S3Server {
            endpoint,
            root: root.to_path_buf(),
            requests,
            _rt: rt,
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
