//! `git dvc import <repo> <path> [-o <out>] [--rev <rev>]` and
//! `git dvc update <out>… [--rev <rev>]`.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::{ImportArgs, UpdateArgs};
use crate::context::Ctx;
use crate::fsutil::Confined;
use crate::registry::fetch::{prepare, request};
use crate::registry::imports::{record_files, track_output, update_one};
use crate::registry::record::{self, ImportRecord};
use crate::registry::{self, source};
use crate::ui;

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
    // Big files are written from their downloads' twins.
    let cache = ctx.cache.clone().with_twins();
    let (plan, md5_of) = prepare(&src, &resolved.commit, &path, &cache, ctx.config.jobs)?;
    registry::write_output(&src.git, &plan, &cache, &confined, Path::new(&rel))?;
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
