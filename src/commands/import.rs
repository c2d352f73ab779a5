//! `git dvc import <repo> <path> [-o <out>] [--rev <rev>]` and
//! `git dvc update <out>… [--rev <rev>]`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::attributes;
use crate::cli::{ImportArgs, UpdateArgs};
use crate::context::Ctx;
use crate::fsutil::Confined;
use crate::registry::fetch::{prepare, request};
use crate::registry::record::{self, ImportRecord, RecordFile};
use crate::registry::{self, EntryKind, Plan, source};
use crate::ui;

fn record_files(
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
fn track_output(ctx: &Ctx, rel: &str, plan: &Plan, before: &BTreeSet<String>) -> Result<()> {
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

/// Runs `git dvc import`.
pub fn import(args: &ImportArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let (path, out) = request(&args.source.path, args.source.out.as_deref())?;
    let rel = ctx.repo.repo_relative(&out)?;
    let root = ctx.repo.workdir()?.to_path_buf();
    let dest = root.join(&rel);
    let rec_path = record::path_for(&dest);
    if rec_path.exists() {
        bail!(
            "{} is already an import; use `git dvc update {}`",
            rel,
            out.display()
        );
    }
    if std::fs::symlink_metadata(&dest).is_ok() {
        bail!("output already exists ({rel}); remove it or choose another with -o");
    }
    // Everything from the worktree's root down is checked: a symlink
    // committed on the way is refused before the source is even opened.
    let confined = Confined::new(&root, "");
    confined.check(Path::new(&rel), "write")?;
    let src = source::Source::open(&args.source.repo, &source::cache_root(Some(&ctx.repo)))?;
    let mut fetched = false;
    let resolved = src.resolve(args.rev.as_deref(), &mut fetched)?;
    let (plan, md5_of) = prepare(&src, &resolved.commit, &path, &ctx.cache, ctx.config.jobs)?;
    registry::write_output(&src.git, &plan, &ctx.cache, &confined, Path::new(&rel))?;
    track_output(&ctx, &rel, &plan, &BTreeSet::new())?;
    let rec = ImportRecord {
        url: src.url.clone(),
        path: path.clone(),
        rev: args.rev.clone(),
        rev_lock: resolved.commit.clone(),
        remote: plan.remote.as_ref().map(|(_, rc)| rc.clone()),
        files: record_files(&src, &plan, &md5_of),
    };
    rec.save(&rec_path)?;
    ui::info(&format!(
        "Imported {path} from {} at {} into {rel} ({} file{}).",
        src.url,
        &resolved.commit[..10],
        plan.entries.len(),
        if plan.entries.len() == 1 { "" } else { "s" }
    ));
    Ok(())
}

/// Runs `git dvc update`.
pub fn update(args: &UpdateArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let root = ctx.repo.workdir()?.to_path_buf();
    for out in &args.outs {
        let rel = ctx.repo.repo_relative(out)?;
        update_one(&ctx, &root, &rel, args.rev.as_deref())?;
    }
    Ok(())
}

fn update_one(ctx: &Ctx, root: &Path, rel: &str, new_rev: Option<&str>) -> Result<()> {
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
    let (plan, md5_of) = prepare(&src, &commit, &old.path, &ctx.cache, ctx.config.jobs)?;
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
    registry::write_output(&src.git, &sub, &ctx.cache, &confined, out)?;
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
