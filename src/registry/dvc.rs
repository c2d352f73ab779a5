//! DVC projects as registry sources: outputs from `.dvc` files and
//! `dvc.lock`, directory listings from `.dir` manifests, remotes from
//! `.dvc/config`, objects named by md5 in DVC 3's layout
//! (`files/md5/ab/cdef…`) or DVC 2's (`ab/cdef…`).
//!
//! Every object is verified against its md5 and stored in the cache under
//! its sha256, like any other git-dvc object.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use git2::{ObjectType, TreeWalkMode, TreeWalkResult};
use md5::Digest;
use serde::Deserialize;

use super::error::RegistryError;
use super::safe_rel;
use crate::cache::Cache;
use crate::config::RemoteConfig;
use crate::error::Error;
use crate::oid::Oid;
use crate::remote::{Remote, RemoteError};

/// One DVC output at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DvcOut {
    /// Repo-relative path.
    pub path: String,
    /// md5 hex, with `.dir` for a directory.
    pub md5: String,
    /// Bytes (a directory: the sum of its files).
    pub size: Option<u64>,
}

impl DvcOut {
    /// True for a directory output.
    pub fn is_dir(&self) -> bool {
        self.md5.ends_with(".dir")
    }
}

#[derive(Deserialize)]
struct OutYaml {
    path: String,
    md5: Option<String>,
    size: Option<u64>,
}

#[derive(Deserialize)]
struct DvcFile {
    #[serde(default)]
    outs: Vec<OutYaml>,
}

#[derive(Deserialize)]
struct Stage {
    #[serde(default)]
    outs: Vec<OutYaml>,
}

#[derive(Deserialize)]
struct LockFile {
    #[serde(default)]
    stages: BTreeMap<String, Stage>,
}

#[derive(Deserialize)]
struct DirEntry {
    md5: String,
    relpath: String,
}

fn valid_md5(s: &str) -> bool {
    let hex = s.strip_suffix(".dir").unwrap_or(s);
    hex.len() == 32
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The DVC 3 and DVC 2 keys of an object.
pub fn keys(md5: &str) -> [String; 2] {
    [
        format!("files/md5/{}/{}", &md5[..2], &md5[2..]),
        format!("{}/{}", &md5[..2], &md5[2..]),
    ]
}

/// True when the tree is a DVC project.
pub fn is_project(tree: &git2::Tree<'_>) -> bool {
    tree.get_path(Path::new(".dvc/config")).is_ok()
}

/// One DVC metafile at a commit: a `*.dvc` file or a `dvc.lock`, with the
/// outputs it records.
#[derive(Debug, Clone)]
pub struct MetaFile {
    /// Repo-relative path of the metafile.
    pub path: String,
    /// True for a `dvc.lock` (whose stages stay pipeline definitions).
    pub is_lock: bool,
    /// Outputs with an md5 (committed data).
    pub outs: Vec<DvcOut>,
    /// Paths of outputs recorded without an md5 (never committed by DVC).
    pub without_md5: Vec<String>,
}

/// Every `*.dvc` file and `dvc.lock` at `tree` (outside `.dvc/`), parsed.
pub fn metafiles(repo: &git2::Repository, tree: &git2::Tree<'_>) -> Result<Vec<MetaFile>, Error> {
    let mut found: Vec<(String, String, String, bool)> = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, e| {
        if dir.starts_with(".dvc/") || (dir.is_empty() && e.name() == Some(".dvc")) {
            return TreeWalkResult::Skip;
        }
        let name = e.name().unwrap_or("");
        if e.kind() == Some(ObjectType::Blob) && (name.ends_with(".dvc") || name == "dvc.lock") {
            if let Ok(b) = repo.find_blob(e.id()) {
                found.push((
                    dir.to_string(),
                    name.to_string(),
                    String::from_utf8_lossy(b.content()).into_owned(),
                    name == "dvc.lock",
                ));
            }
        }
        TreeWalkResult::Ok
    })?;
    let mut files = Vec::new();
    for (dir, name, text, is_lock) in found {
        let raw: Vec<OutYaml> = if is_lock {
            let lock: LockFile = serde_norway::from_str(&text).map_err(|e| {
                Error::from(RegistryError::InvalidDvcLock {
                    path: format!("{dir}dvc.lock"),
                    message: e.to_string(),
                })
            })?;
            lock.stages.into_values().flat_map(|s| s.outs).collect()
        } else {
            let f: DvcFile = serde_norway::from_str(&text).map_err(|e| {
                Error::from(RegistryError::InvalidDvcFile {
                    dir: dir.clone(),
                    message: e.to_string(),
                })
            })?;
            f.outs
        };
        let mut meta = MetaFile {
            path: format!("{dir}{name}"),
            is_lock,
            outs: Vec::new(),
            without_md5: Vec::new(),
        };
        for o in raw {
            let path = format!("{dir}{}", o.path.trim_end_matches('/'));
            safe_rel(&path)?;
            let Some(md5) = o.md5 else {
                meta.without_md5.push(path);
                continue;
            };
            if !valid_md5(&md5) {
                return Err(RegistryError::BadMd5 {
                    path: path.clone(),
                    md5: md5.clone(),
                }
                .into());
            }
            meta.outs.push(DvcOut {
                path,
                md5,
                size: o.size,
            });
        }
        files.push(meta);
    }
    Ok(files)
}

/// Every output recorded at `tree`, from `*.dvc` files and `dvc.lock`s.
pub fn outputs(repo: &git2::Repository, tree: &git2::Tree<'_>) -> Result<Vec<DvcOut>, Error> {
    Ok(metafiles(repo, tree)?
        .into_iter()
        .flat_map(|m| m.outs)
        .collect())
}

/// The default remote of `.dvc/config` (configobj INI). Relative local URLs
/// are relative to `.dvc/`, which only works for a source on this machine.
pub fn remote(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    source_root: Option<&Path>,
) -> Result<Option<(String, RemoteConfig)>, Error> {
    let Ok(entry) = tree.get_path(Path::new(".dvc/config")) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(repo.find_blob(entry.id())?.content()).into_owned();
    let mut section = String::new();
    let mut values: BTreeMap<(String, String), String> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            // configobj writes ['remote "name"'] with the quotes kept.
            section = s.trim().trim_matches('\'').to_string();
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            values.insert(
                (section.clone(), k.trim().to_lowercase()),
                v.trim().to_string(),
            );
        }
    }
    let Some(name) = values.get(&("core".into(), "remote".into())).cloned() else {
        return Ok(None);
    };
    let sec = format!("remote \"{name}\"");
    let get = |k: &str| values.get(&(sec.clone(), k.to_string())).cloned();
    let Some(mut url) = get("url") else {
        return Ok(None);
    };
    let is_cloud = url.contains("://") && !url.starts_with("file://");
    if !is_cloud {
        let local = url.strip_prefix("file://").unwrap_or(&url).to_string();
        if !local.starts_with('/') {
            let Some(root) = source_root else {
                return Err(RegistryError::RelativeRemote {
                    whose: "the DVC source's",
                    name: name.clone(),
                    url: url.clone(),
                }
                .into());
            };
            url = crate::repo::normalize(&root.join(".dvc").join(local))
                .to_string_lossy()
                .into_owned();
        } else {
            url = local;
        }
    }
    let mut rc = RemoteConfig::default();
    rc.url = Some(url);
    rc.endpoint = get("endpointurl");
    rc.region = get("region");
    rc.profile = get("profile");
    rc.read_only = Some(true);
    Ok(Some((name, rc)))
}

/// Writes into a cache object while computing md5 on the side.
pub struct Md5Tee<'a> {
    inner: &'a mut crate::cache::ObjectWriter,
    md5: md5::Md5,
}

impl<'a> Md5Tee<'a> {
    /// Tees writes into `inner`.
    pub fn new(inner: &'a mut crate::cache::ObjectWriter) -> Md5Tee<'a> {
        Md5Tee {
            inner,
            md5: md5::Md5::new(),
        }
    }

    /// The md5 (lowercase hex) of everything written.
    pub fn md5_hex(self) -> String {
        hex(&self.md5.finalize())
    }
}

impl Write for Md5Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A writer that takes at most `left` bytes more, then refuses.
struct Capped<W> {
    inner: W,
    left: Option<u64>,
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(left) = self.left.as_mut() {
            if buf.len() as u64 >= *left {
                *left = 0;
                return Err(std::io::Error::other("the answer runs past its size"));
            }
            *left -= buf.len() as u64;
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads the object with `md5` (DVC 3 key first, then DVC 2's),
/// verifies its md5, and stores it in `cache` under its sha256. With
/// `size` (known where the object's pointer gives it), an answer that runs
/// past it stops there.
pub async fn fetch_md5(
    remote: &dyn Remote,
    md5: &str,
    size: Option<u64>,
    cache: &Cache,
) -> Result<(Oid, u64), RemoteError> {
    let mut last = None;
    for key in keys(md5) {
        let mut w = cache.writer()?;
        let mut capped = Capped {
            inner: Md5Tee {
                inner: &mut w,
                md5: md5::Md5::new(),
            },
            left: size.map(|s| s.saturating_add(1)),
        };
        let got = remote.get_raw(&key, &mut capped).await;
        if capped.left == Some(0) {
            return Err(RemoteError::Failed {
                remote: remote.name().to_string(),
                message: format!(
                    "object {key} runs past its {} bytes: refused, nothing stored",
                    size.unwrap_or(0)
                ),
            });
        }
        let tee = capped.inner;
        match got {
            Ok(_) => {
                let got = hex(&tee.md5.finalize());
                if got != md5.trim_end_matches(".dir") {
                    return Err(RemoteError::Failed {
                        remote: remote.name().to_string(),
                        message: format!(
                            "object {key} has md5 {got}, not {md5}: refused, nothing stored"
                        ),
                    });
                }
                return Ok(w.commit()?);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("two keys tried"))
}

/// A directory output's file list, from its verified `.dir` manifest.
pub async fn manifest(
    remote: &dyn Remote,
    md5: &str,
    cache: &Cache,
) -> Result<Vec<(String, String)>, Error> {
    let (oid, size) = fetch_md5(remote, md5, None, cache)
        .await
        .map_err(RegistryError::from)?;
    parse_manifest(cache, &oid, size, md5)
}

/// The file list of a `.dir` manifest already in `cache` as `oid`: its
/// `(relpath, md5)` entries, each path checked to stay inside the output.
pub fn parse_manifest(
    cache: &Cache,
    oid: &Oid,
    size: u64,
    md5: &str,
) -> Result<Vec<(String, String)>, Error> {
    let mut f = cache.open(oid, size)?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut f, &mut text)
        .map_err(|e| Error::io("cannot read", format!("{md5} manifest"), e))?;
    let list: Vec<DirEntry> =
        serde_json::from_str(&text).map_err(|e| RegistryError::InvalidManifest {
            md5: md5.to_string(),
            message: e.to_string(),
        })?;
    let mut out = Vec::new();
    for e in list {
        safe_rel(&e.relpath)?;
        if !valid_md5(&e.md5) || e.md5.ends_with(".dir") {
            return Err(RegistryError::BadMd5 {
                path: e.relpath.clone(),
                md5: e.md5.clone(),
            }
            .into());
        }
        out.push((e.relpath, e.md5));
    }
    Ok(out)
}

/// A read-only view of a DVC remote by sha256: what a clone of a project
/// that imported DVC data fetches from. Each object is found by the md5
/// its import record lists and checked against both hashes.
pub struct DvcObjects {
    inner: Arc<dyn Remote>,
    md5_of: BTreeMap<Oid, String>,
}

impl DvcObjects {
    /// Wraps `inner` with the sha256 → md5 map of an import.
    pub fn new(inner: Arc<dyn Remote>, md5_of: BTreeMap<Oid, String>) -> DvcObjects {
        DvcObjects { inner, md5_of }
    }
}

#[async_trait]
impl Remote for DvcObjects {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn contains(&self, oid: &Oid, _size: Option<u64>) -> Result<bool, RemoteError> {
        Ok(self.md5_of.contains_key(oid))
    }
    /// The DVC remote's answer is checked by both hashes, and stopped
    /// where it runs past the pointer's size.
    async fn download(
        &self,
        oid: &Oid,
        size: Option<u64>,
        cache: &Cache,
    ) -> Result<u64, RemoteError> {
        let md5 = self.md5_of.get(oid).ok_or(RemoteError::NotFound {
            oid: *oid,
            remote: self.name().to_string(),
        })?;
        let (got, size) = fetch_md5(self.inner.as_ref(), md5, size, cache).await?;
        if got != *oid {
            return Err(RemoteError::Mismatch {
                oid: *oid,
                remote: self.name().to_string(),
                actual: got,
            });
        }
        Ok(size)
    }
    /// One streamed GET of the DVC remote, whatever the size: what one
    /// request costs there (four to a static web server, whose queue of
    /// waiting connections may be short).
    fn slots_for(&self, _size: u64) -> usize {
        self.inner.slots_for(0)
    }
    async fn upload(&self, _: &Oid, _: u64, _: &Cache) -> Result<(), RemoteError> {
        Err(RemoteError::ReadOnly {
            remote: self.name().to_string(),
        })
    }
    async fn delete(&self, _: &Oid) -> Result<(), RemoteError> {
        Err(RemoteError::ReadOnly {
            remote: self.name().to_string(),
        })
    }
    async fn list(&self) -> Result<Vec<(Oid, Option<u64>)>, RemoteError> {
        Ok(self.md5_of.keys().map(|o| (*o, None)).collect())
    }
    async fn get_raw(&self, key: &str, w: &mut (dyn Write + Send)) -> Result<u64, RemoteError> {
        self.inner.get_raw(key, w).await
    }
}
