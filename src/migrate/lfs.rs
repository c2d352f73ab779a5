//! Migrating a git-lfs repository: LFS pointers become git-dvc pointers
//! with the same sha256 and size (objects move without rehashing their
//! names, and are still verified as they are copied), `filter=lfs`
//! `.gitattributes` lines become `filter=dvc`, and `.lfsconfig` goes.
//!
//! Objects come from the local LFS store (`lfs.storage`, default
//! `<git-common-dir>/lfs/objects/<oid[0..2]>/<oid[2..4]>/<oid>`) or, for a
//! remote that is a directory on this machine, from its LFS store.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use git2::Oid as GitOid;

use super::{Converter, Edit, Stats, TreeCtx, blobs, pointer_blob};
use crate::cache::Cache;
use crate::error::Error;
use crate::oid::Oid;
use crate::repo::Repo;

/// The largest blob git-lfs reads as a pointer.
const MAX_LFS_POINTER: usize = 1024;

/// An LFS pointer's oid and size, if `blob` is one (the spec's version
/// URLs, `oid sha256:` and `size` lines in that order). Pointers with
/// extensions are not taken: their stored object is not the file.
pub fn parse_lfs_pointer(blob: &[u8]) -> Option<(Oid, u64)> {
    if blob.len() >= MAX_LFS_POINTER {
        return None;
    }
    let text = std::str::from_utf8(blob).ok()?;
    let mut lines = text.strip_suffix('\n')?.split('\n');
    let version = lines.next()?.strip_prefix("version ")?;
    if !matches!(
        version,
        "https://git-lfs.github.com/spec/v1" | "https://hawser.github.com/spec/v1"
    ) {
        return None;
    }
    let oid = Oid::from_hex(lines.next()?.strip_prefix("oid sha256:")?)?;
    let size = lines.next()?.strip_prefix("size ")?;
    if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let size: u64 = size.parse().ok()?;
    lines.next().is_none().then_some((oid, size))
}

/// A `.gitattributes` text with git-lfs's attributes turned into git-dvc's;
/// `None` when no line sets `filter=lfs`.
pub fn convert_attributes(text: &str) -> Option<String> {
    let mut changed = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let trimmed = body.trim_start();
        if trimmed.starts_with('#') || !body.split_whitespace().any(|t| t == "filter=lfs") {
            out.push_str(line);
            continue;
        }
        changed = true;
        let mut parts: Vec<&str> = body.split_whitespace().collect();
        for p in parts.iter_mut().skip(1) {
            *p = match *p {
                "filter=lfs" => "filter=dvc",
                "diff=lfs" => "diff=dvc",
                "merge=lfs" => "merge=dvc",
                other => other,
            };
        }
        out.push_str(&parts.join(" "));
        out.push_str(ending);
    }
    changed.then_some(out)
}

/// Converts git-lfs trees.
pub struct LfsConverter {
    cache: Cache,
    stores: Vec<PathBuf>,
    blob_memo: HashMap<GitOid, Option<(GitOid, Oid, u64)>>,
}

impl LfsConverter {
    /// Finds the LFS stores: the clone's, then local remotes'.
    pub fn new(repo: &Repo, cache: Cache) -> LfsConverter {
        let config = |k: &str| {
            repo.git_output(["config", "--get", k])
                .ok()
                .map(|o| String::from_utf8_lossy(&o).trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let mut stores = Vec::new();
        match config("lfs.storage") {
            Some(s) if Path::new(&s).is_absolute() => stores.push(PathBuf::from(s).join("objects")),
            Some(s) => stores.push(repo.common_dir.join(s).join("objects")),
            None => stores.push(repo.common_dir.join("lfs").join("objects")),
        }
        let urls = repo
            .git_output([
                "config",
                "--get-regexp",
                r"^(remote\..*\.(lfs)?url|lfs\.url)$",
            ])
            .map(|o| String::from_utf8_lossy(&o).into_owned())
            .unwrap_or_default();
        for line in urls.lines() {
            let Some((_, url)) = line.split_once(' ') else {
                continue;
            };
            if url.contains("://") && !url.starts_with("file://") {
                continue;
            }
            let p = PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
            let p = if p.is_relative() {
                repo.workdir.clone().unwrap_or_default().join(p)
            } else {
                p
            };
            stores.push(p.join("lfs").join("objects"));
            stores.push(p.join(".git").join("lfs").join("objects"));
        }
        LfsConverter {
            cache,
            stores,
            blob_memo: HashMap::new(),
        }
    }

    fn store_object(&self, oid: &Oid, size: u64, path: &str) -> Result<(), Error> {
        if size == 0 || self.cache.contains(oid) {
            return Ok(());
        }
        let hex = oid.to_hex();
        for store in &self.stores {
            let file = store.join(&hex[..2]).join(&hex[2..4]).join(&hex);
            let Ok(mut f) = fs::File::open(&file) else {
                continue;
            };
            let got = self.cache.insert_verified(oid, &mut f).map_err(|e| {
                Error::Other(format!("{e} (LFS object {}, for {path})", file.display()))
            })?;
            if got != size {
                return Err(Error::Other(format!(
                    "LFS object {hex} has {got} bytes, its pointer says {size} ({path})"
                )));
            }
            return Ok(());
        }
        Err(Error::Other(format!(
            "LFS object {hex} is not in this clone's LFS store nor a local remote's: fetch it with `git lfs fetch --all`, then migrate again ({path})"
        )))
    }
}

impl Converter for LfsConverter {
    fn edits(
        &mut self,
        repo: &Repo,
        tree: &git2::Tree<'_>,
        ctx: TreeCtx,
        stats: &mut Stats,
    ) -> Result<Vec<Edit>, Error> {
        let git = &repo.git;
        let odb = git.odb()?;
        let mut edits = Vec::new();
        for (path, id, mode) in blobs(tree)? {
            let name = path.rsplit('/').next().unwrap_or(&path);
            if path == ".lfsconfig" {
                edits.push(Edit::delete(path));
                continue;
            }
            if name == ".gitattributes" {
                let blob = git.find_blob(id)?;
                let text = String::from_utf8_lossy(blob.content());
                if let Some(new) = convert_attributes(&text) {
                    let new_id = if ctx.dry_run {
                        id
                    } else {
                        git.blob(new.as_bytes())?
                    };
                    edits.push(Edit {
                        path,
                        blob: Some((new_id, mode)),
                    });
                }
                continue;
            }
            if mode & 0o170000 != 0o100000 {
                continue;
            }
            let converted = match self.blob_memo.get(&id) {
                Some(c) => *c,
                None => {
                    let (len, _) = odb.read_header(id)?;
                    let parsed = if len < MAX_LFS_POINTER {
                        parse_lfs_pointer(git.find_blob(id)?.content())
                    } else {
                        None
                    };
                    let c = match parsed {
                        None => None,
                        Some((oid, size)) if ctx.dry_run => Some((id, oid, size)),
                        Some((oid, size)) => {
                            self.store_object(&oid, size, &path)?;
                            Some((pointer_blob(git, &oid, size)?, oid, size))
                        }
                    };
                    if !ctx.dry_run {
                        self.blob_memo.insert(id, c);
                    }
                    c
                }
            };
            let Some((new_id, oid, size)) = converted else {
                continue;
            };
            if ctx.is_head {
                stats.found += 1;
                stats.found_bytes = stats.found_bytes.saturating_add(size);
            }
            if ctx.dry_run {
                edits.push(Edit::delete(path));
                continue;
            }
            stats.objects.insert(oid, size);
            if ctx.is_head {
                stats.files += 1;
                stats.bytes = stats.bytes.saturating_add(size);
            }
            edits.push(Edit {
                path,
                blob: Some((new_id, mode)),
            });
        }
        Ok(edits)
    }
}

/// Lines for the summary: git-lfs's hooks and settings still in place.
pub fn leftovers(repo: &Repo) -> Vec<String> {
    let hooks = repo.hooks_dir();
    let lfs_hooks: Vec<String> = ["pre-push", "post-checkout", "post-commit", "post-merge"]
        .iter()
        .filter(|h| {
            fs::read_to_string(hooks.join(h))
                .is_ok_and(|t| t.contains("git lfs ") || t.contains("git-lfs"))
        })
        .map(ToString::to_string)
        .collect();
    let mut out = Vec::new();
    if !lfs_hooks.is_empty() {
        out.push(format!(
            "git-lfs's hooks are still installed ({}): run `git lfs uninstall --local`, then `git dvc install --local` for git-dvc's.",
            lfs_hooks.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfs_pointers_parse_exactly() {
        let hex = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
        let p =
            format!("version https://git-lfs.github.com/spec/v1\noid sha256:{hex}\nsize 12345\n");
        assert_eq!(
            parse_lfs_pointer(p.as_bytes()),
            Some((Oid::from_hex(hex).unwrap(), 12345))
        );
        assert_eq!(parse_lfs_pointer(p.trim_end().as_bytes()), None);
        let ext = p.replace("oid", "ext-0-foo sha256:00\noid");
        assert_eq!(parse_lfs_pointer(ext.as_bytes()), None);
        assert_eq!(parse_lfs_pointer(b"hello\n"), None);
    }

    #[test]
    fn attributes_turn_lfs_into_dvc() {
        let t = "*.psd filter=lfs diff=lfs merge=lfs -text\n# filter=lfs\n*.txt text\r\n*.bin   filter=lfs -text lockable\n";
        assert_eq!(
            convert_attributes(t).unwrap(),
            "*.psd filter=dvc diff=dvc merge=dvc -text\n# filter=lfs\n*.txt text\r\n*.bin filter=dvc -text lockable\n"
        );
        assert_eq!(convert_attributes("*.txt text\n"), None);
    }
}
