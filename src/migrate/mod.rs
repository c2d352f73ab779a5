//! `git dvc migrate`: adopting a DVC project, a git-lfs repository or
//! plain-Git blobs, in the current tree or across history.
//!
//! One engine, three converters. A [`Converter`] says, for one root tree,
//! which paths change (pointers in, the old tool's files out,
//! `.gitattributes` lines added); conversion depends on nothing but the
//! tree, so each distinct tree is converted once and converting a migrated
//! tree changes nothing. The engine then either stages the converted HEAD
//! tree (current tree only) or rewrites the chosen refs' commits
//! ([`rewrite`]) and moves every ref, with a backup ref of each, in one
//! `git update-ref --stdin` transaction: until that transaction the
//! repository's refs are untouched (new objects are merely unreachable),
//! after it the worktree is brought to the new HEAD. A marker file makes
//! that last step resumable when it is interrupted.

pub mod dvc;
pub mod import;
pub mod lfs;
pub mod rewrite;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use git2::Oid as GitOid;

use crate::error::Error;
use crate::oid::Oid;
use crate::pointer::Pointer;
use crate::repo::Repo;
pub use rewrite::Edit;

/// Where backups of rewritten refs go: `refs/dvc-migrate/backup/<refname>`.
pub const BACKUP_PREFIX: &str = "refs/dvc-migrate/backup/";

/// What one tree conversion may consult.
#[derive(Debug, Clone, Copy)]
pub struct TreeCtx {
    /// This is HEAD's tree: the worktree holds its files.
    pub is_head: bool,
    /// Compute and count only; store nothing.
    pub dry_run: bool,
}

/// Counts a conversion adds to the summary.
#[derive(Debug, Default)]
pub struct Stats {
    /// Objects stored in the cache (oid → size), over every tree.
    pub objects: BTreeMap<Oid, u64>,
    /// Files that became pointers in HEAD's tree.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Outputs (DVC) or pointers found in HEAD's tree (all modes, also in a dry run).
    pub found: u64,
    /// Bytes recorded for what was found.
    pub found_bytes: u64,
    /// Remarks for the user, printed once each.
    pub notes: Vec<String>,
}

impl Stats {
    /// Adds a note unless it is already there.
    pub fn note(&mut self, s: String) {
        if !self.notes.contains(&s) {
            self.notes.push(s);
        }
    }
}

/// Turns one root tree into its migrated form.
pub trait Converter {
    /// The edits that migrate `tree`; empty when there is nothing to do.
    /// Objects the new pointers name are in the cache when this returns
    /// (unless `ctx.dry_run`).
    fn edits(
        &mut self,
        repo: &Repo,
        tree: &git2::Tree<'_>,
        ctx: TreeCtx,
        stats: &mut Stats,
    ) -> Result<Vec<Edit>, Error>;
}

/// Which history to rewrite.
#[derive(Debug, Clone)]
pub enum History {
    /// Only the current tree: the result is staged, HEAD stays.
    None,
    /// The current branch (and tags pointing into it).
    Current,
    /// Every branch and tag.
    Everything,
    /// These refs (and tags pointing into them).
    Refs(Vec<String>),
}

/// How to migrate.
#[derive(Debug, Clone)]
pub struct Options {
    /// What to rewrite.
    pub history: History,
    /// Write nothing; report what would change.
    pub dry_run: bool,
}

/// A ref moved by the migration.
#[derive(Debug, Clone)]
pub struct RefChange {
    /// Full refname (`refs/heads/main`, `HEAD` when detached).
    pub name: String,
    /// Before.
    pub old: GitOid,
    /// After.
    pub new: GitOid,
    /// Where the old value is kept.
    pub backup: String,
}

/// What a migration did (or would do).
#[derive(Debug, Default)]
pub struct Summary {
    /// Counts from the converter.
    pub stats: Stats,
    /// Commits rewritten (or that would be).
    pub commits: usize,
    /// Refs moved (or that would be).
    pub refs: Vec<RefChange>,
    /// True when HEAD's tree changed (staged, or checked out).
    pub tree_changed: bool,
    /// Nothing was written.
    pub dry_run: bool,
    /// History was rewritten (not only the current tree).
    pub rewrote_history: bool,
}

impl Summary {
    /// The objects stored, as pointers (for a push).
    pub fn pointers(&self) -> Vec<Pointer> {
        self.stats
            .objects
            .iter()
            .filter(|(_, s)| **s > 0)
            .map(|(o, s)| Pointer::new(*o, *s))
            .collect()
    }
}

fn marker(repo: &Repo) -> PathBuf {
    repo.git_dir.join("dvc").join("migrate-in-progress")
}

/// Finishes a migration whose refs moved but whose worktree was not yet
/// brought along (the process was interrupted): HEAD's tree is checked out.
fn finish_interrupted(repo: &Repo) -> Result<bool, Error> {
    let m = marker(repo);
    if !m.exists() {
        return Ok(false);
    }
    crate::ui::info("Finishing an interrupted migration: checking out HEAD's migrated tree.");
    repo.git_output(["read-tree", "--reset", "-u", "HEAD"])?;
    std::fs::remove_file(&m).map_err(|e| Error::io("cannot remove", m.display(), e))?;
    Ok(true)
}

fn check_ready(repo: &Repo) -> Result<(), Error> {
    repo.workdir()?;
    let installed = repo
        .git_output(["config", "--get", "filter.dvc.process"])
        .ok()
        .is_some_and(|o| !o.trim_ascii().is_empty());
    if !installed {
        return Err(Error::Other(
            "git-dvc's filter is not configured: run `git dvc install` first (filter.dvc.process)"
                .into(),
        ));
    }
    let status = repo.git_output([
        "status",
        "--porcelain",
        "-z",
        "--untracked-files=no",
        "--ignore-submodules",
    ])?;
    if let Some(first) = status.split(|&b| b == 0).find(|l| l.len() > 3) {
        return Err(Error::Other(format!(
            "the worktree has uncommitted changes; commit them first ({})",
            String::from_utf8_lossy(&first[3..])
        )));
    }
    Ok(())
}

/// Full refnames of the refs to rewrite.
fn chosen_refs(repo: &Repo, history: &History) -> Result<Vec<String>, Error> {
    let list = |args: &[&str]| -> Result<Vec<String>, Error> {
        Ok(String::from_utf8_lossy(&repo.git_output(args)?)
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect())
    };
    match history {
        History::None => Ok(Vec::new()),
        History::Everything => list(&[
            "for-each-ref",
            "--format=%(refname)",
            "refs/heads",
            "refs/tags",
        ]),
        History::Current => {
            let head = repo.git.find_reference("HEAD")?;
            match head.symbolic_target() {
                Some(t) => Ok(vec![t.to_string()]),
                None => Err(Error::Other(
                    "HEAD is detached: name the branches to rewrite, or use --everything (HEAD)"
                        .into(),
                )),
            }
        }
        History::Refs(given) => {
            let mut out = Vec::new();
            for g in given {
                let full = list(&["rev-parse", "--symbolic-full-name", g])
                    .ok()
                    .and_then(|v| v.into_iter().next())
                    .filter(|r| r.starts_with("refs/heads/") || r.starts_with("refs/tags/"));
                match full {
                    Some(r) => out.push(r),
                    None => {
                        return Err(Error::Other(format!(
                            "not a branch or tag of this repository ({g})"
                        )));
                    }
                }
            }
            Ok(out)
        }
    }
}

/// Converts trees once each, remembering results.
struct Trees<'c> {
    conv: &'c mut dyn Converter,
    memo: HashMap<GitOid, GitOid>,
    changed: HashSet<GitOid>,
    head_tree: GitOid,
    dry_run: bool,
}

impl Trees<'_> {
    fn convert(&mut self, repo: &Repo, id: GitOid, stats: &mut Stats) -> Result<GitOid, Error> {
        if let Some(&new) = self.memo.get(&id) {
            return Ok(new);
        }
        let tree = repo.git.find_tree(id)?;
        let ctx = TreeCtx {
            is_head: id == self.head_tree,
            dry_run: self.dry_run,
        };
        let edits = self.conv.edits(repo, &tree, ctx, stats)?;
        let new = if edits.is_empty() {
            id
        } else if self.dry_run {
            self.changed.insert(id);
            id
        } else {
            rewrite::apply(&repo.git, Some(&tree), &edits)?
        };
        if new != id {
            self.changed.insert(id);
        }
        self.memo.insert(id, new);
        Ok(new)
    }
}

/// Runs a migration with `conv`.
pub fn run(repo: &Repo, conv: &mut dyn Converter, opts: &Options) -> Result<Summary, Error> {
    let mut summary = Summary {
        dry_run: opts.dry_run,
        rewrote_history: !matches!(opts.history, History::None),
        ..Summary::default()
    };
    if !opts.dry_run {
        finish_interrupted(repo)?;
        check_ready(repo)?;
    }
    let head = repo
        .git
        .head()
        .map_err(|_| Error::Other("HEAD has no commit yet: nothing to migrate (HEAD)".into()))?;
    let head_commit = head.peel_to_commit()?;
    let head_tree = head_commit.tree_id();
    let mut trees = Trees {
        conv,
        memo: HashMap::new(),
        changed: HashSet::new(),
        head_tree,
        dry_run: opts.dry_run,
    };
    let mut stats = Stats::default();

    if matches!(opts.history, History::None) {
        let new = trees.convert(repo, head_tree, &mut stats)?;
        summary.tree_changed = trees.changed.contains(&head_tree);
        summary.stats = stats;
        if summary.tree_changed && !opts.dry_run {
            repo.git_output(["read-tree", "--reset", "-u", &new.to_string()])?;
        }
        return Ok(summary);
    }

    let refs = chosen_refs(repo, &opts.history)?;
    let mut tips: Vec<String> = Vec::new();
    let mut targets: Vec<(String, GitOid)> = Vec::new();
    for r in &refs {
        let reference = repo.git.find_reference(r)?;
        let id = reference
            .target()
            .ok_or_else(|| Error::Other(format!("symbolic refs are not rewritten ({r})")))?;
        targets.push((r.clone(), id));
        tips.push(reference.peel_to_commit()?.id().to_string());
    }
    let mut args = vec![
        "rev-list".to_string(),
        "--topo-order".into(),
        "--reverse".into(),
    ];
    args.extend(tips);
    let commits: Vec<GitOid> = String::from_utf8_lossy(&repo.git_output(&args)?)
        .lines()
        .filter_map(|l| GitOid::from_str(l.trim()).ok())
        .collect();

    // Commits, parents first. In a dry run only which ones would change.
    let mut map: HashMap<GitOid, GitOid> = HashMap::new();
    let mut would: HashSet<GitOid> = HashSet::new();
    for &id in &commits {
        let commit = repo.git.find_commit(id)?;
        let new_tree = trees.convert(repo, commit.tree_id(), &mut stats)?;
        if opts.dry_run {
            if trees.changed.contains(&commit.tree_id())
                || commit.parent_ids().any(|p| would.contains(&p))
            {
                would.insert(id);
            }
            continue;
        }
        let parents: Vec<GitOid> = commit
            .parent_ids()
            .map(|p| map.get(&p).copied().unwrap_or(p))
            .collect();
        let new = rewrite::rewrite_commit(&repo.git, id, new_tree, &parents)?;
        if new != id {
            would.insert(id);
        }
        map.insert(id, new);
    }
    summary.commits = would.len();
    summary.tree_changed = trees.changed.contains(&head_tree);
    let placeholder = |id: GitOid| map.get(&id).copied().unwrap_or(id);

    // Refs: the chosen ones, and every tag pointing into what changed.
    let mut names: Vec<(String, GitOid)> = targets;
    for r in repo.git.references_glob("refs/tags/*")? {
        let r = r?;
        if let (Some(name), Some(id)) = (r.name(), r.target()) {
            if !names.iter().any(|(n, _)| n == name) {
                names.push((name.to_string(), id));
            }
        }
    }
    for (name, id) in names {
        let obj = repo.git.find_object(id, None)?;
        let (commit, is_tag) = match obj.kind() {
            Some(git2::ObjectType::Tag) => {
                let tag = repo.git.find_tag(id)?;
                if tag.target_type() != Some(git2::ObjectType::Commit) {
                    if let Ok(c) = obj.peel(git2::ObjectType::Commit) {
                        if would.contains(&c.id()) {
                            stats.note(format!(
                                "{name} is a tag of a tag; it was left pointing at the old history"
                            ));
                        }
                    }
                    continue;
                }
                (tag.target_id(), true)
            }
            Some(git2::ObjectType::Commit) => (id, false),
            _ => continue,
        };
        if !would.contains(&commit) {
            continue;
        }
        let new = if opts.dry_run {
            id
        } else if is_tag {
            rewrite::rewrite_tag(&repo.git, id, placeholder(commit))?
        } else {
            placeholder(commit)
        };
        summary.refs.push(RefChange {
            backup: format!("{BACKUP_PREFIX}{name}"),
            name,
            old: id,
            new,
        });
    }
    if repo.git.head_detached()? && would.contains(&head_commit.id()) {
        summary.refs.push(RefChange {
            name: "HEAD".into(),
            old: head_commit.id(),
            new: placeholder(head_commit.id()),
            backup: format!("{BACKUP_PREFIX}HEAD"),
        });
    }
    for c in &summary.refs {
        if repo.git.find_reference(&c.backup).is_ok() {
            return Err(Error::Other(format!(
                "a backup from an earlier migration is in the way; once you no longer need it, delete it with `git update-ref -d {}` ({})",
                c.backup, c.name
            )));
        }
    }
    summary.stats = stats;
    if opts.dry_run || summary.refs.is_empty() {
        return Ok(summary);
    }

    // One transaction: every backup created and every ref moved, or none.
    let mut tx = String::from("start\n");
    for c in &summary.refs {
        tx.push_str(&format!("create {} {}\n", c.backup, c.old));
        if c.name == "HEAD" {
            tx.push_str("option no-deref\n");
        }
        tx.push_str(&format!("update {} {} {}\n", c.name, c.new, c.old));
    }
    tx.push_str("prepare\ncommit\n");
    let m = marker(repo);
    if let Some(dir) = m.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir.display(), e))?;
    }
    std::fs::write(&m, b"refs moved; worktree to check out\n")
        .map_err(|e| Error::io("cannot write", m.display(), e))?;
    if let Err(e) = repo.git_with_input(["update-ref", "--stdin"], tx.as_bytes()) {
        let _ = std::fs::remove_file(&m);
        return Err(e);
    }
    if summary.tree_changed || repo.git.head()?.peel_to_commit()?.id() != head_commit.id() {
        repo.git_output(["read-tree", "--reset", "-u", "HEAD"])?;
    }
    std::fs::remove_file(&m).map_err(|e| Error::io("cannot remove", m.display(), e))?;
    Ok(summary)
}

/// Stores a pointer blob for `(oid, size)` (an empty blob for size 0).
pub fn pointer_blob(repo: &git2::Repository, oid: &Oid, size: u64) -> Result<GitOid, Error> {
    if size == 0 {
        return Ok(repo.blob(b"")?);
    }
    Ok(repo.blob(Pointer::new(*oid, size).encode().as_bytes())?)
}

/// Every blob of `tree`: (path, id, mode).
pub fn blobs(tree: &git2::Tree<'_>) -> Result<Vec<(String, GitOid, i32)>, Error> {
    let mut out = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
        if e.kind() == Some(git2::ObjectType::Blob) {
            if let Some(name) = e.name() {
                out.push((format!("{dir}{name}"), e.id(), e.filemode()));
            }
        }
        git2::TreeWalkResult::Ok
    })?;
    Ok(out)
}

/// The root `.gitattributes` of `tree` with `patterns` added (escaped, as
/// [`crate::attributes::add`] takes them); `None` when nothing is added.
pub fn attributes_with(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    patterns: &[String],
) -> Result<Option<GitOid>, Error> {
    let text = match tree.get_path(std::path::Path::new(".gitattributes")) {
        Ok(e) => String::from_utf8_lossy(repo.find_blob(e.id())?.content()).into_owned(),
        Err(_) => String::new(),
    };
    let (new, added) = crate::attributes::add(&text, patterns);
    if added.is_empty() {
        return Ok(None);
    }
    Ok(Some(repo.blob(new.as_bytes())?))
}
