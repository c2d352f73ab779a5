//! An HTTP(S) remote: GET/HEAD to read (any static web server serving a
//! directory remote or a cache will do), PUT to write where the server
//! allows it. Credentials come from `~/.netrc` or `git credential`, asked
//! once per process, as git-lfs does.

use std::io::Write;
use std::ops::Range;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use reqwest::{Client, RequestBuilder, Response, StatusCode};

use super::parts::{self, RangedGet, Reply};
use super::{Remote, RemoteError, object_key};
use crate::cache::Cache;
use crate::config::Parts;
use crate::oid::Oid;

/// Username and password for Basic auth.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Credentials {
    user: String,
    pass: String,
    /// Came from `git credential fill`: approve or reject it afterwards.
    from_git: bool,
}

/// Slots of `transfer.jobs` one HTTP request takes (see
/// [`Remote::slots_for`]).
const HTTP_SLOTS: usize = 4;

/// Objects under an HTTP(S) URL prefix.
pub struct HttpRemote {
    name: String,
    base: String,
    client: Client,
    creds: Mutex<Option<Credentials>>,
    parts: Parts,
}

impl HttpRemote {
    /// A remote at `url` (objects at `<url>/ab/cdef…`).
    pub fn new(name: &str, url: &str) -> Result<HttpRemote, RemoteError> {
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(Duration::from_secs(60))
            .user_agent(concat!("git-dvc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RemoteError::Config {
                remote: name.to_string(),
                message: e.to_string(),
            })?;
        Ok(HttpRemote {
            name: name.to_string(),
            base: url.trim_end_matches('/').to_string(),
            client,
            creds: Mutex::new(None),
            parts: Parts::default(),
        })
    }

    /// Splits big downloads as `parts` says (ranged GETs).
    pub fn with_parts(mut self, parts: Parts) -> HttpRemote {
        self.parts = parts;
        self
    }

    fn url(&self, oid: &Oid) -> String {
        format!("{}/{}", self.base, object_key(oid))
    }

    fn transient(&self, message: impl std::fmt::Display) -> RemoteError {
        RemoteError::Transient {
            remote: self.name.clone(),
            message: message.to_string(),
        }
    }

    fn classify(&self, e: reqwest::Error) -> RemoteError {
        // Connection resets, timeouts and bodies cut short are worth a retry.
        if e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() || e.is_decode() {
            self.transient(error_chain(&e))
        } else {
            RemoteError::Failed {
                remote: self.name.clone(),
                message: error_chain(&e),
            }
        }
    }

    fn status_error(&self, status: StatusCode, what: &str) -> RemoteError {
        if status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::NOT_IMPLEMENTED {
            return RemoteError::NotSupported {
                remote: self.name.clone(),
                request: what.to_string(),
                status: status.to_string(),
            };
        }
        let message = format!("{what}: HTTP {status}");
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            self.transient(message)
        } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            RemoteError::Denied {
                remote: self.name.clone(),
                message,
            }
        } else {
            RemoteError::Failed {
                remote: self.name.clone(),
                message,
            }
        }
    }

    /// Sends a request, asking for credentials once on a 401.
    async fn send(&self, make: impl Fn() -> RequestBuilder) -> Result<Response, RemoteError> {
        let current = self.creds.lock().expect("not poisoned").clone();
        let with = |c: &Option<Credentials>| match c {
            Some(c) => make().basic_auth(&c.user, Some(&c.pass)),
            None => make(),
        };
        let resp = with(&current).send().await.map_err(|e| self.classify(e))?;
        if resp.status() != StatusCode::UNAUTHORIZED || current.is_some() {
            return Ok(resp);
        }
        // `git credential` may prompt: a blocking child process, off the
        // async workers.
        let base = self.base.clone();
        let found = tokio::task::spawn_blocking(move || find_credentials(&base))
            .await
            .ok()
            .flatten();
        let Some(creds) = found else {
            return Ok(resp);
        };
        let resp = with(&Some(creds.clone()))
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let ok = resp.status() != StatusCode::UNAUTHORIZED;
        if creds.from_git {
            let (base, c) = (self.base.clone(), creds.clone());
            let action = if ok { "approve" } else { "reject" };
            let _ =
                tokio::task::spawn_blocking(move || git_credential(action, &base, Some(&c))).await;
        }
        if ok {
            *self.creds.lock().expect("not poisoned") = Some(creds);
        }
        Ok(resp)
    }
}

#[async_trait]
impl Remote for HttpRemote {
    fn name(&self) -> &str {
        &self.name
    }

    async fn contains(&self, oid: &Oid, size: Option<u64>) -> Result<bool, RemoteError> {
        let url = self.url(oid);
        let resp = self.send(|| self.client.head(&url)).await?;
        match resp.status() {
            s if s.is_success() => Ok(match (size, resp.content_length()) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(false),
            s => Err(self.status_error(s, &format!("HEAD {url}"))),
        }
    }

    /// Four slots per request: a static web server may accept few
    /// connections at once (python's `http.server` queues 5 and drops the
    /// rest, which the client retries a second later), so at the default
    /// `jobs` eight requests are in flight (a big object's parts count
    /// four each too).
    fn slots_for(&self, size: u64) -> usize {
        HTTP_SLOTS * parts::requests_for(self.parts, size)
    }

    async fn download(
        &self,
        oid: &Oid,
        size: Option<u64>,
        cache: &Cache,
    ) -> Result<u64, RemoteError> {
        parts::download(self, oid, size, cache, self.parts).await
    }

    async fn upload(&self, oid: &Oid, size: u64, cache: &Cache) -> Result<(), RemoteError> {
        let url = self.url(oid);
        let path = cache.object_path(oid);
        // Check the local object before sending it anywhere.
        cache.open(oid, size)?;
        let resp = self
            .send(|| {
                // A fresh streaming body per attempt keeps memory flat.
                let body = reqwest::Body::wrap_stream(file_stream(path.clone()));
                self.client
                    .put(&url)
                    .header(reqwest::header::CONTENT_LENGTH, size)
                    .body(body)
            })
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            s => Err(self.status_error(s, &format!("PUT {url}"))),
        }
    }

    async fn delete(&self, oid: &Oid) -> Result<(), RemoteError> {
        let url = self.url(oid);
        let resp = self.send(|| self.client.delete(&url)).await?;
        match resp.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            s => Err(self.status_error(s, &format!("DELETE {url}"))),
        }
    }

    async fn get_raw(
        &self,
        key: &str,
        w: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, RemoteError> {
        let url = format!("{}/{key}", self.base);
        let resp = self.send(|| self.client.get(&url)).await?;
        match resp.status() {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                return Err(RemoteError::KeyNotFound {
                    key: key.to_string(),
                    remote: self.name.clone(),
                });
            }
            s => return Err(self.status_error(s, &format!("GET {url}"))),
        }
        let expected = resp.content_length();
        let mut body = resp.bytes_stream();
        let mut n = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.classify(e))?;
            w.write_all(&chunk).map_err(super::sink_err)?;
            n += chunk.len() as u64;
        }
        if let Some(e) = expected.filter(|e| *e != n) {
            return Err(self.transient(format!("GET {url}: body cut short ({n} of {e} bytes)")));
        }
        Ok(n)
    }

    async fn list(&self) -> Result<Vec<(Oid, Option<u64>)>, RemoteError> {
        Err(RemoteError::Failed {
            remote: self.name.clone(),
            message: "an HTTP remote cannot list its objects".into(),
        })
    }
}

#[async_trait]
impl RangedGet for HttpRemote {
    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Reply, RemoteError> {
        let url = format!("{}/{key}", self.base);
        let header = format!("bytes={}-{}", range.start, range.end.saturating_sub(1));
        let resp = self
            .send(|| {
                self.client
                    .get(&url)
                    .header(reqwest::header::RANGE, &header)
            })
            .await?;
        let status = resp.status();
        let partial = match status {
            StatusCode::PARTIAL_CONTENT => {
                let total = resp
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parts::content_range_total(v, &range));
                match total {
                    Some(total) => Some(total),
                    // A range of unknown total (`/*`) or not the one asked
                    // for: read the object whole instead.
                    None => return self.get_whole(&url, key).await,
                }
            }
            // An empty object has no byte 0: read it whole.
            StatusCode::RANGE_NOT_SATISFIABLE if range.start == 0 => {
                return self.get_whole(&url, key).await;
            }
            s if s.is_success() => None,
            s => return Err(self.get_error(s, &url, key)),
        };
        let len = resp.content_length();
        let body = self.body(resp, url);
        Ok(match partial {
            Some(total) => Reply::Part { total, body },
            None => Reply::Whole { len, body },
        })
    }
}

impl HttpRemote {
    /// A plain GET of `url`, the whole object.
    async fn get_whole(&self, url: &str, key: &str) -> Result<Reply, RemoteError> {
        let resp = self.send(|| self.client.get(url)).await?;
        match resp.status() {
            s if s.is_success() => Ok(Reply::Whole {
                len: resp.content_length(),
                body: self.body(resp, url.to_string()),
            }),
            s => Err(self.get_error(s, url, key)),
        }
    }

    /// The error for a GET answered `status`.
    fn get_error(&self, status: StatusCode, url: &str, key: &str) -> RemoteError {
        match status {
            StatusCode::NOT_FOUND | StatusCode::GONE => RemoteError::KeyNotFound {
                key: key.to_string(),
                remote: self.name.clone(),
            },
            s => self.status_error(s, &format!("GET {url}")),
        }
    }

    /// A response's body as chunks, its failures classified.
    fn body(&self, resp: Response, url: String) -> parts::Body {
        let name = self.name.clone();
        Box::pin(resp.bytes_stream().map(move |c| {
            c.map_err(|e| RemoteError::Transient {
                remote: name.clone(),
                message: format!("GET {url}: {}", error_chain(&e)),
            })
        }))
    }
}

/// Reads a file as a stream of chunks.
fn file_stream(
    path: std::path::PathBuf,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    futures_util::stream::unfold(None::<tokio::fs::File>, move |state| {
        let path = path.clone();
        async move {
            use tokio::io::AsyncReadExt;
            let mut file = match state {
                Some(f) => f,
                None => match tokio::fs::File::open(&path).await {
                    Ok(f) => f,
                    Err(e) => return Some((Err(e), None)),
                },
            };
            let mut buf = vec![0u8; 256 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(bytes::Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        }
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// `~/.netrc` first (no prompt), then `git credential fill`.
fn find_credentials(url: &str) -> Option<Credentials> {
    let host = url
        .split("://")
        .nth(1)?
        .split(['/', ':'])
        .next()?
        .to_string();
    if let Some(c) = netrc(&host) {
        return Some(c);
    }
    git_credential("fill", url, None)
}

fn netrc(host: &str) -> Option<Credentials> {
    let home = std::env::var_os("HOME")?;
    let text = std::fs::read_to_string(std::path::Path::new(&home).join(".netrc")).ok()?;
    let mut tokens = text.split_whitespace();
    let (mut current, mut user, mut pass) = (None::<String>, None, None);
    let mut found = None;
    while let Some(t) = tokens.next() {
        match t {
            "machine" | "default" => {
                if current.as_deref() == Some(host) {
                    break;
                }
                current = if t == "default" {
                    Some(host.to_string())
                } else {
                    tokens.next().map(str::to_string)
                };
                user = None;
                pass = None;
            }
            "login" => user = tokens.next().map(str::to_string),
            "password" => pass = tokens.next().map(str::to_string),
            _ => {}
        }
        if current.as_deref() == Some(host) {
            if let (Some(u), Some(p)) = (&user, &pass) {
                found = Some(Credentials {
                    user: u.clone(),
                    pass: p.clone(),
                    from_git: false,
                });
            }
        }
    }
    found
}

/// Runs `git credential <action>` for `url`.
fn git_credential(action: &str, url: &str, creds: Option<&Credentials>) -> Option<Credentials> {
    let (protocol, rest) = url.split_once("://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut input = format!("protocol={protocol}\nhost={host}\npath={path}\n");
    if let Some(c) = creds {
        input.push_str(&format!("username={}\npassword={}\n", c.user, c.pass));
    }
    input.push('\n');
    let mut child = Command::new("git")
        .args(["credential", action])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if action != "fill" || !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(str::to_string)
    };
    Some(Credentials {
        user: field("username")?,
        pass: field("password")?,
        from_git: true,
    })
}
