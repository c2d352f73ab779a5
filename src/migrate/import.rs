//! Migrating plain-Git blobs: files matching the patterns become git-dvc
//! data. Each tree gets the patterns' `.gitattributes` lines, and every
//! blob Git then says is `filter=dvc` (asked of Git itself, with
//! `check-attr --source`, so its pattern rules hold exactly) is stored in
//! the cache and replaced by its pointer: the same pointer `git add` would
//! write. Empty files and existing pointers stay as they are.

use std::collections::HashMap;

use git2::Oid as GitOid;

use super::{Converter, Edit, Stats, TreeCtx, blobs, pointer_blob};
use crate::cache::Cache;
use crate::error::Error;
use crate::oid::Oid;
use crate::pointer::{MAX_POINTER_SIZE, Pointer};
use crate::repo::Repo;

/// Converts plain-Git trees.
pub struct ImportConverter {
    cache: Cache,
    patterns: Vec<String>,
    memo: HashMap<GitOid, (GitOid, Oid, u64)>,
}

impl ImportConverter {
    /// `patterns` as the user gives them to `git dvc track`.
    pub fn new(cache: Cache, patterns: &[String]) -> ImportConverter {
        ImportConverter {
            cache,
            patterns: patterns
                .iter()
                .map(|p| crate::attributes::escape(p))
                .collect(),
            memo: HashMap::new(),
        }
    }
}

/// The paths of `candidates` whose `filter` attribute is `dvc` at `tree`.
fn filtered(repo: &Repo, tree: GitOid, candidates: &[&str]) -> Result<Vec<bool>, Error> {
    let paths: Vec<&[u8]> = candidates.iter().map(|p| p.as_bytes()).collect();
    crate::attributes::dvc_filtered_with(repo, &paths, &[], &[format!("--source={tree}")])
}

impl Converter for ImportConverter {
    fn edits(
        &mut self,
        repo: &Repo,
        tree: &git2::Tree<'_>,
        ctx: TreeCtx,
        stats: &mut Stats,
    ) -> Result<Vec<Edit>, Error> {
        let git = &repo.git;
        let odb = git.odb()?;
        // Git is asked about the tree as it will be, with the patterns'
        // lines, so it answers for exactly what will be committed. A dry
        // run writes no tree: it shows Git the lines in a temporary
        // attributes file instead.
        let mut edits = Vec::new();
        let mut source = tree.id();
        if !ctx.dry_run {
            if let Some(blob) = super::attributes_with(git, tree, &self.patterns)? {
                edits.push(Edit::put(".gitattributes", blob));
                source = super::rewrite::apply(git, Some(tree), &edits)?;
            }
        }
        let all = blobs(tree)?;
        let candidates: Vec<&(String, GitOid, i32)> = all
            .iter()
            .filter(|(path, _, mode)| {
                let name = path.rsplit('/').next().unwrap_or(path);
                *mode & 0o170000 == 0o100000 && name != ".gitattributes" && name != ".gitdvc.toml"
            })
            .collect();
        let paths: Vec<&str> = candidates.iter().map(|(p, _, _)| p.as_str()).collect();
        let matched = if ctx.dry_run {
            dry_filtered(repo, tree.id(), &paths, &self.patterns)?
        } else {
            filtered(repo, source, &paths)?
        };
        for ((path, id, mode), hit) in candidates.into_iter().zip(matched) {
            if !hit {
                continue;
            }
            let (len, _) = odb.read_header(*id)?;
            if len == 0 {
                continue;
            }
            if len <= MAX_POINTER_SIZE && Pointer::parse(git.find_blob(*id)?.content()).is_ok() {
                continue;
            }
            if ctx.is_head {
                stats.found += 1;
                stats.found_bytes += len as u64;
            }
            if ctx.dry_run {
                edits.push(Edit::delete(path.clone()));
                continue;
            }
            let (new_id, oid, size) = match self.memo.get(id) {
                Some(c) => *c,
                None => {
                    let mut reader = odb.reader(*id)?.0;
                    let (oid, size) = self.cache.insert_reader(&mut reader)?;
                    let c = (pointer_blob(git, &oid, size)?, oid, size);
                    self.memo.insert(*id, c);
                    c
                }
            };
            stats.objects.insert(oid, size);
            if ctx.is_head {
                stats.files += 1;
                stats.bytes += size;
            }
            edits.push(Edit {
                path: path.clone(),
                blob: Some((new_id, *mode)),
            });
        }
        Ok(edits)
    }
}

/// [`filtered`] for a dry run: the patterns come from a temporary
/// attributes file instead of a new tree object.
fn dry_filtered(
    repo: &Repo,
    tree: GitOid,
    candidates: &[&str],
    patterns: &[String],
) -> Result<Vec<bool>, Error> {
    let mut tmp = tempfile::NamedTempFile::new()
        .map_err(|e| Error::io("cannot create", "a temporary attributes file", e))?;
    let mut text = String::new();
    for p in patterns {
        text.push_str(&format!("{p} {}\n", crate::attributes::ATTRS));
    }
    std::io::Write::write_all(&mut tmp, text.as_bytes())
        .map_err(|e| Error::io("cannot write", tmp.path().display(), e))?;
    let paths: Vec<&[u8]> = candidates.iter().map(|p| p.as_bytes()).collect();
    crate::attributes::dvc_filtered_with(
        repo,
        &paths,
        &[
            "-c".to_string(),
            format!("core.attributesFile={}", tmp.path().display()),
        ],
        &[format!("--source={tree}")],
    )
}
