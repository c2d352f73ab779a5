//! `git dvc fetch [<remote>] [<ref>…] [--all] [-- <path>…]` and
//! `git dvc pull [<remote>] [-- <path>…]`.

use anyhow::Result;

use super::checkout::{pathspecs, print_report};
use super::transfer_common::{finish, open_transfer, split_remote};
use super::{Ctx, Exit};
use crate::checkout::{self, matches_pathspec};
use crate::cli::{FetchArgs, PullArgs};
use crate::registry;
use crate::tracked::{self, TrackedFile};
use crate::transfer::Transfer;

/// Downloads what the cache lacks: files inside an import from the
/// import's source remote, the rest from `remote` (or the default).
fn download(ctx: &Ctx, remote: Option<&str>, files: &[TrackedFile]) -> Result<()> {
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !ctx.cache.contains(&f.pointer.oid))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let routes = match ctx.repo.git.head().ok().and_then(|h| h.peel_to_tree().ok()) {
        Some(tree) => registry::open_routes(
            registry::import_routes(&ctx.repo.git, &tree),
            ctx.repo.workdir.as_deref(),
        ),
        None => Vec::new(),
    };
    let mut by_route: Vec<(Option<usize>, Vec<TrackedFile>)> = Vec::new();
    for f in missing {
        let idx = routes.iter().position(|(p, _)| {
            f.path == *p
                || (f.path.starts_with(p.as_str()) && f.path.as_bytes().get(p.len()) == Some(&b'/'))
        });
        match by_route.iter_mut().find(|(i, _)| *i == idx) {
            Some((_, v)) => v.push(f),
            None => by_route.push((idx, vec![f])),
        }
    }
    let mut result = Ok(());
    for (idx, group) in by_route {
        let transfer = match idx {
            Some(i) => Transfer::new(routes[i].1.clone(), ctx.cache.clone(), ctx.config.jobs)?,
            None => open_transfer(ctx, remote)?,
        };
        let pointers: Vec<_> = group.iter().map(|f| f.pointer).collect();
        let report = transfer.download(&pointers);
        let r = finish(&report, &group, "Downloaded", transfer.remote_name());
        if result.is_ok() {
            result = r;
        }
    }
    result
}

/// Runs `git dvc fetch`.
pub fn fetch(args: &FetchArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let (remote, refs) = split_remote(&ctx, &args.args)?;
    let specs = pathspecs(&ctx, &args.paths)?;
    let mut files = super::push::objects_for(&ctx, refs, args.all)?;
    files.retain(|f| matches_pathspec(&f.path, &specs));
    if refs.is_empty() && !args.all {
        // HEAD's data is for the worktree: not outside a sparse cone.
        let outside = crate::index::outside_cone(&ctx.repo)?;
        files.retain(|f| !outside.contains(f.path.as_bytes()));
    }
    download(&ctx, remote, &files)
}

/// Runs `git dvc pull`: fetch what HEAD and the index name, then check
/// it out.
pub fn pull(args: &PullArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let specs = pathspecs(&ctx, &args.paths)?;
    // HEAD's data, and whatever the index stages beyond it.
    let mut files = tracked::in_index(&ctx.repo)?;
    if ctx.repo.git.head().is_ok() {
        let staged: std::collections::HashSet<_> = files.iter().map(|f| f.pointer.oid).collect();
        files.extend(
            tracked::in_rev(&ctx.repo, "HEAD")?
                .into_iter()
                .filter(|f| !staged.contains(&f.pointer.oid)),
        );
    }
    let outside = crate::index::outside_cone(&ctx.repo)?;
    files.retain(|f| matches_pathspec(&f.path, &specs) && !outside.contains(f.path.as_bytes()));
    let fetched = download(&ctx, args.remote.as_deref(), &files);
    let pointer_files = checkout::pointer_files(&ctx.repo, &specs)?;
    let report = checkout::materialize(
        &ctx.repo,
        &ctx.cache,
        &pointer_files,
        ctx.config.direct_size,
    )?;
    print_report(&report);
    fetched?;
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Exit { code: 1 }.into())
    }
}
