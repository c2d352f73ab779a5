//! Imports in a worktree: tracking an import's output as its source does,
//! its record's file list, and `update` (only what changed is written,
//! what went upstream is removed, every path checked first).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::fetch::prepare;
use super::record::{self, ImportRecord, RecordFile};
use super::{EntryKind, Plan, source};
use crate::attributes;
use crate::context::Ctx;
use crate::fsutil::Confined;
use crate::registry;
use crate::ui;

pub(crate) fn record_files(
    src: &source::Source,
    plan: &Plan,
    md5_of: &BTreeMap<String, String>,
) -> BTreeMap<String, RecordFile> {
    let plain = plain_files(plan);
    registry::file_map(&src.git, plan)
        .into_iter()
        .map(|(rel, (oid, size))| {
            let md5 = md5_of.get(&rel).cloned();
            let plain = plain.contains(&rel);
            (
                rel,
                RecordFile {
                    md5,
                    oid: format!("sha256:{oid}"),
                    size,
                    plain,
                },
            )
        })
        .collect()
}

/// The plan's plain Git files (not data in the source).
fn plain_files(plan: &Plan) -> BTreeSet<String> {
    plan.entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Blob { .. }))
        .map(|e| e.rel.clone())
        .collect()
}

/// Tracks the output as its source does: a data file, or everything below
/// the directory — except the source's plain Git files, which get a line
/// each (after the directory's) making them plain Git files here too, so
/// they are committed as they are and every clone has them. `before` are
/// the plain files of the previous import, whose lines go when they do.
pub(crate) fn track_output(
    ctx: &Ctx,
    rel: &str,
    plan: &Plan,
    before: &BTreeSet<String>,
) -> Result<()> {
    let root = ctx.repo.workdir()?;
    let path = root.join(".gitattributes");
    let text =
        attributes::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut new_text = if plan.is_dir {
        attributes::add(&text, &[attributes::escape(&format!("{rel}/**"))]).0
    } else if plain_files(plan).is_empty() {
        attributes::add(&text, &[attributes::escape(rel)]).0
    } else {
        // A single plain file is not data (one that was loses its line).
        attributes::remove(&text, &[attributes::escape(rel)]).0
    };
    let plain = if plan.is_dir {
        plain_files(plan)
    } else {
        BTreeSet::new()
    };
    let line = |f: &String| attributes::literal(&format!("{rel}/{f}"));
    let gone: Vec<String> = before
        .difference(&plain)
        .filter(|f| !f.is_empty())
        .map(line)
        .collect();
    let wanted: Vec<String> = plain.iter().map(line).collect();
    new_text = attributes::remove_plain(&new_text, &gone);
    new_text = attributes::add_plain(&new_text, &wanted);
    if new_text != text {
        crate::fsutil::write_atomic(&path, new_text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Brings one import up to date: to `new_rev`, or to the newest commit
/// of the branch it follows (a pinned tag or commit stays), writing only
/// what changed and removing what went upstream.
pub fn update_one(ctx: &Ctx, root: &Path, rel: &str, new_rev: Option<&str>) -> Result<()> {
    let dest = root.join(rel);
    let out = Path::new(rel);
    // The record, the files it names and the directories on the way are
    // all committed: each is checked before it is read, written or deleted.
    let confined = Confined::new(root, "");
    let rec_rel = record::path_for(out);
    let Some(rec_path) = confined.existing(&rec_rel, "read")? else {
        bail!(
            "not an import: no {} ({rel})",
            root.join(&rec_rel).display()
        );
    };
    let old = ImportRecord::load(&rec_path)?;
    let rev = new_rev.map(str::to_string).or(old.rev.clone());
    let src = source::Source::open(&old.url, &source::cache_root(Some(&ctx.repo)))?;
    let mut fetched = false;
    let resolved = src.resolve(rev.as_deref(), &mut fetched)?;
    // A pin (tag or commit) stays where it is unless a new --rev moves it.
    let commit = if new_rev.is_none() && !resolved.follows_branch {
        old.rev_lock.clone()
    } else {
        resolved.commit
    };
    if commit == old.rev_lock && new_rev.is_none() && all_present(root, rel, &old) {
        ui::info(&format!("{rel} is up to date ({}).", &commit[..10]));
        return Ok(());
    }
    // Big files are written from their downloads' twins.
    let cache = ctx.cache.clone().with_twins();
    let (plan, md5_of) = prepare(&src, &commit, &old.path, &cache, ctx.config.jobs)?;
    let files = record_files(&src, &plan, &md5_of);
    // Only what changed (content or kind) is written again.
    let changed: Vec<_> = plan
        .entries
        .iter()
        .filter(|e| {
            old.files.get(&e.rel) != files.get(&e.rel)
                || !root.join(registry::entry_path(out, &e.rel)).exists()
        })
        .cloned()
        .collect();
    let sub = Plan {
        commit: plan.commit.clone(),
        is_dir: plan.is_dir,
        entries: changed,
        remote: None,
    };
    // Removed upstream: removed here. Every removal and every write is
    // checked before the first of them happens.
    let mut doomed = Vec::new();
    for old_rel in old.files.keys() {
        if !files.contains_key(old_rel) {
            if let Some(p) = confined.existing(&registry::entry_path(out, old_rel), "delete")? {
                doomed.push(p);
            }
        }
    }
    registry::check_output(&sub, &confined, out)?;
    let mut removed = 0;
    for p in &doomed {
        if std::fs::remove_file(p).is_ok() {
            removed += 1;
        }
        prune_empty_dirs(p, &dest);
    }
    registry::write_output(&src.git, &sub, &cache, &confined, out)?;
    let plain_before: BTreeSet<String> = old
        .files
        .iter()
        .filter(|(_, f)| f.plain)
        .map(|(rel, _)| rel.clone())
        .collect();
    track_output(ctx, rel, &plan, &plain_before)?;
    let rec = ImportRecord {
        rev,
        rev_lock: commit.clone(),
        remote: plan.remote.as_ref().map(|(_, rc)| rc.clone()),
        files,
        ..old
    };
    rec.save(&rec_path)?;
    ui::info(&format!(
        "Updated {rel} to {}: {} file{} written, {removed} removed.",
        &commit[..10],
        sub.entries.len(),
        if sub.entries.len() == 1 { "" } else { "s" }
    ));
    Ok(())
}

fn all_present(root: &Path, rel: &str, rec: &ImportRecord) -> bool {
    let dest: PathBuf = root.join(rel);
    rec.files.keys().all(|f| {
        if f.is_empty() {
            dest.exists()
        } else {
            dest.join(f).exists()
        }
    })
}

fn prune_empty_dirs(file: &Path, stop: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == stop || !d.starts_with(stop) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}
