//! Migrating a DVC project: every output recorded by a `.dvc` file or a
//! `dvc.lock` becomes git-dvc pointers at the same paths; the `.dvc` files,
//! `.dvc/`, `.dvcignore` and DVC's `.gitignore` lines go; `.gitattributes`
//! gains a line per output.
//!
//! Objects come, by md5, from the worktree (HEAD's tree only: the file DVC
//! checked out, which is also checked against what DVC recorded, so a
//! change never committed to DVC is not silently replaced), the DVC cache
//! (`.dvc/cache`, DVC 3 and DVC 2 layouts) or the DVC remote of
//! `.dvc/config`; each is md5-verified as it is stored under its sha256.
//! `dvc.yaml` and `dvc.lock` stay: they are the pipeline's definition and
//! record, which git-dvc does not run.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Converter, Edit, Stats, TreeCtx, attributes_with, pointer_blob};
use crate::cache::Cache;
use crate::error::Error;
use crate::oid::Oid;
use crate::registry::dvc as dvcfmt;
use crate::remote::{self, Remote, dir::DirRemote};
use crate::repo::Repo;

/// Converts DVC trees.
pub struct DvcConverter {
    cache: Cache,
    sources: Vec<Arc<dyn Remote>>,
    /// What each source is (its path or URL), to add each once.
    source_keys: Vec<String>,
    /// Each source, for messages.
    descs: Vec<String>,
    by_md5: HashMap<String, (Oid, u64)>,
    manifests: HashMap<String, Vec<(String, String)>>,
    workdir: Option<PathBuf>,
    jobs: usize,
}

/// The `dir` of `[cache]` in DVC's config files on disk, relative to `.dvc/`.
fn dvc_cache_dir(workdir: &Path) -> PathBuf {
    let dvc = workdir.join(".dvc");
    let mut dir = dvc.join("cache");
    for f in ["config", "config.local"] {
        let Ok(text) = fs::read_to_string(dvc.join(f)) else {
            continue;
        };
        let mut section = String::new();
        for line in text.lines().map(str::trim) {
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.trim().trim_matches('\'').to_string();
            } else if let Some((k, v)) = line.split_once('=') {
                if section == "cache" && k.trim() == "dir" {
                    dir = crate::repo::normalize(&dvc.join(v.trim()));
                }
            }
        }
    }
    dir
}

impl DvcConverter {
    /// Sources: the worktree's DVC cache, then HEAD's `.dvc/config` remote
    /// (older commits' remotes join as their trees are converted).
    pub fn new(repo: &Repo, cache: Cache, jobs: usize) -> Result<DvcConverter, Error> {
        // The one runtime (built here if nothing built it yet).
        crate::runtime::get().map_err(|e| Error::io("cannot start", "the transfer runtime", e))?;
        let mut conv = DvcConverter {
            cache,
            sources: Vec::new(),
            source_keys: Vec::new(),
            descs: Vec::new(),
            by_md5: HashMap::new(),
            manifests: HashMap::new(),
            workdir: repo.workdir.clone(),
            jobs: jobs.max(1),
        };
        if let Some(wd) = &repo.workdir {
            let dir = dvc_cache_dir(wd);
            conv.descs.push(format!("the DVC cache {}", dir.display()));
            conv.source_keys.push(dir.display().to_string());
            conv.sources
                .push(crate::remote::read_only(Arc::new(DirRemote::new(
                    "dvc-cache",
                    &dir,
                ))));
        }
        if let Ok(tree) = repo.git.head().and_then(|h| h.peel_to_tree()) {
            conv.add_remote_of(repo, &tree)?;
        }
        Ok(conv)
    }

    /// Adds the DVC remote named by `tree`'s `.dvc/config`, if new: a
    /// commit from before the remote moved still finds its data.
    fn add_remote_of(&mut self, repo: &Repo, tree: &git2::Tree<'_>) -> Result<(), Error> {
        let Some((name, rc)) = dvcfmt::remote(&repo.git, tree, repo.workdir.as_deref())? else {
            return Ok(());
        };
        let key = rc.url.clone().unwrap_or_default();
        if self.source_keys.contains(&key) {
            return Ok(());
        }
        let remote = remote::open(&name, &rc, repo.workdir.as_deref())
            .map_err(|e| Error::Other(e.to_string()))?;
        self.descs.push(format!("the DVC remote '{name}' ({key})"));
        self.source_keys.push(key);
        self.sources.push(remote);
        Ok(())
    }

    /// The object with `md5` in the cache, from the first source that has
    /// it (a source serving wrong bytes is passed over).
    fn fetch(&mut self, md5: &str, path: &str) -> Result<(Oid, u64), Error> {
        if let Some(&got) = self.by_md5.get(md5) {
            return Ok(got);
        }
        let mut last = String::new();
        for s in &self.sources {
            match crate::runtime::block_on(dvcfmt::fetch_md5(s.as_ref(), md5, None, &self.cache)) {
                Ok(got) => {
                    self.by_md5.insert(md5.to_string(), got);
                    return Ok(got);
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(Error::Other(format!(
            "cannot get {path} (md5 {md5}): not in {}; last error: {last} ({path})",
            if self.descs.is_empty() {
                "any DVC cache or remote".to_string()
            } else {
                self.descs.join(" nor on ")
            }
        )))
    }

    /// Fetches every object of `files` (path, md5) not fetched yet,
    /// `jobs` at a time; the first failure (by path) is the error.
    fn fetch_all(&mut self, files: &[(String, String)]) -> Result<(), Error> {
        use futures_util::StreamExt;
        let mut todo: Vec<(String, String)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (path, md5) in files {
            if !self.by_md5.contains_key(md5) && seen.insert(md5.clone()) {
                todo.push((path.clone(), md5.clone()));
            }
        }
        if todo.len() < 2 {
            return Ok(());
        }
        let (sources, cache) = (&self.sources, &self.cache);
        let results: Vec<(String, Option<(Oid, u64)>)> = crate::runtime::block_on(
            futures_util::stream::iter(todo.into_iter().map(|(_, md5)| async move {
                for s in sources {
                    if let Ok(got) = dvcfmt::fetch_md5(s.as_ref(), &md5, None, cache).await {
                        return (md5, Some(got));
                    }
                }
                (md5, None)
            }))
            .buffer_unordered(self.jobs)
            .collect(),
        );
        // Failures are retried one by one by `fetch`, which names the
        // source's error.
        for (md5, got) in results {
            if let Some(got) = got {
                self.by_md5.insert(md5, got);
            }
        }
        Ok(())
    }

    /// HEAD's file from the worktree, if there: stored when its md5 is the
    /// one DVC recorded, an error when it differs.
    fn take_worktree_file(&mut self, md5: &str, path: &str) -> Result<Option<(Oid, u64)>, Error> {
        let Some(wd) = &self.workdir else {
            return Ok(None);
        };
        let full = wd.join(path);
        let Ok(mut f) = fs::File::open(&full) else {
            return Ok(None);
        };
        if !f.metadata().is_ok_and(|m| m.is_file()) {
            return Ok(None);
        }
        let mut w = self.cache.writer()?;
        let mut tee = dvcfmt::Md5Tee::new(&mut w);
        crate::cache::copy(&mut f, &mut tee).map_err(|e| Error::io("cannot read", path, e))?;
        let got = tee.md5_hex();
        if got != md5 {
            return Err(Error::Other(format!(
                "{path} differs from what DVC recorded (md5 {got}, not {md5}): record it with `dvc commit` or restore it with `dvc checkout`, then migrate ({path})"
            )));
        }
        let stored = w.commit()?;
        self.by_md5.insert(md5.to_string(), stored);
        Ok(Some(stored))
    }

    fn manifest(&mut self, md5: &str, path: &str) -> Result<Vec<(String, String)>, Error> {
        if let Some(m) = self.manifests.get(md5) {
            return Ok(m.clone());
        }
        let (oid, size) = self.fetch(md5, path)?;
        let list = dvcfmt::parse_manifest(&self.cache, &oid, size, md5)?;
        self.manifests.insert(md5.to_string(), list.clone());
        Ok(list)
    }
}

/// `/path` (or `/path/**` for a directory) as a .gitattributes pattern
/// matching that output only.
fn pattern(path: &str, dir: bool) -> String {
    let lit = crate::attributes::literal(&format!("/{path}"));
    let suffix = if dir { "/**" } else { "" };
    match lit.strip_suffix('"') {
        Some(open) if lit.starts_with('"') => format!("{open}{suffix}\""),
        _ => format!("{lit}{suffix}"),
    }
}

impl Converter for DvcConverter {
    fn edits(
        &mut self,
        repo: &Repo,
        tree: &git2::Tree<'_>,
        ctx: TreeCtx,
        stats: &mut Stats,
    ) -> Result<Vec<Edit>, Error> {
        let git = &repo.git;
        let has = |p: &str| tree.get_path(Path::new(p)).is_ok();
        let metas = dvcfmt::metafiles(git, tree)?;
        let dvc_files = metas.iter().any(|m| !m.is_lock);
        // A tree without `.dvc/` or `.dvc` files is not a DVC project (any
        // longer): a `dvc.lock` kept after a migration stays as it is.
        if !has(".dvc") && !dvc_files && !has(".dvcignore") {
            return Ok(Vec::new());
        }
        if !ctx.dry_run {
            self.add_remote_of(repo, tree)?;
        }
        let mut edits = Vec::new();
        let mut patterns = Vec::new();
        let mut ignored: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut all_files: Vec<(String, String)> = Vec::new();
        for meta in &metas {
            if !meta.without_md5.is_empty() {
                stats.note(format!(
                    "{} records outputs without an md5 (never committed by DVC), kept as it is: {}",
                    meta.path,
                    meta.without_md5.join(", ")
                ));
            } else if !meta.is_lock {
                edits.push(Edit::delete(&meta.path));
            }
            for out in &meta.outs {
                if ctx.is_head {
                    stats.found += 1;
                    stats.found_bytes = stats.found_bytes.saturating_add(out.size.unwrap_or(0));
                }
                patterns.push(pattern(&out.path, out.is_dir()));
                let (parent, name) = match out.path.rsplit_once('/') {
                    Some((d, n)) => (format!("{d}/.gitignore"), n.to_string()),
                    None => (".gitignore".to_string(), out.path.clone()),
                };
                ignored.entry(parent).or_default().push(format!("/{name}"));
                if ctx.dry_run {
                    continue;
                }
                let files: Vec<(String, String)> = if out.is_dir() {
                    self.manifest(&out.md5, &out.path)?
                        .into_iter()
                        .map(|(rel, m)| (format!("{}/{rel}", out.path), m))
                        .collect()
                } else {
                    vec![(out.path.clone(), out.md5.clone())]
                };
                all_files.extend(files);
            }
        }
        // HEAD's files from the worktree first (every one read and checked:
        // the checkout that follows replaces them), then everything else
        // from the DVC cache or remote, many objects at once.
        if ctx.is_head {
            for (path, md5) in &all_files {
                self.take_worktree_file(md5, path)?;
            }
        }
        self.fetch_all(&all_files)?;
        for (path, md5) in all_files {
            let (oid, size) = self.fetch(&md5, &path)?;
            stats.objects.insert(oid, size);
            if ctx.is_head {
                stats.files += 1;
                stats.bytes += size;
            }
            edits.push(Edit::put(path, pointer_blob(git, &oid, size)?));
        }
        for (file, lines) in ignored {
            let Ok(entry) = tree.get_path(Path::new(&file)) else {
                continue;
            };
            let text = String::from_utf8_lossy(git.find_blob(entry.id())?.content()).into_owned();
            let kept: String = text
                .split_inclusive('\n')
                .filter(|l| !lines.iter().any(|x| x == l.trim()))
                .collect();
            if kept == text {
                continue;
            }
            if ctx.dry_run || kept.trim().is_empty() {
                edits.push(Edit::delete(file));
            } else {
                edits.push(Edit::put(file, git.blob(kept.as_bytes())?));
            }
        }
        edits.push(Edit::delete(".dvc"));
        edits.push(Edit::delete(".dvcignore"));
        if !ctx.dry_run {
            if let Some(blob) = attributes_with(git, tree, &patterns)? {
                edits.push(Edit::put(".gitattributes", blob));
            }
        }
        Ok(edits)
    }
}

/// Lines for the summary: where DVC's own leftovers are.
pub fn leftovers(repo: &Repo) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(wd) = &repo.workdir {
        let dir = dvc_cache_dir(wd);
        if dir.exists() {
            out.push(format!(
                "DVC's cache is still at {}: nothing was deleted from it; remove it (and .dvc/) once you have checked the migration.",
                dir.display()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pattern;

    #[test]
    fn patterns_match_one_output() {
        assert_eq!(pattern("model.bin", false), "/model.bin");
        assert_eq!(pattern("data/images", true), "/data/images/**");
        assert_eq!(pattern("my data/x*", true), "\"/my data/x\\\\*/**\"");
    }
}
