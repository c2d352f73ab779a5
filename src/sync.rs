//! What push, fetch, pull, status and the pre-push hook share: opening
//! the remote, choosing objects and the remote each comes from, and
//! reporting outcomes.

use std::collections::HashMap;

use anyhow::{Result, anyhow};

use crate::config::ConfigError;
use crate::context::Ctx;
use crate::oid::Oid;
use crate::remote;
use crate::tracked::TrackedFile;
use crate::transfer::delay::lies_in;
use crate::transfer::{DelayFetcher, Report, Transfer};
use crate::ui::{self, human_size};
use crate::{checkout, registry};

/// Opens the named remote (or the default) with the engine around it.
pub fn open_transfer(ctx: &Ctx, name: Option<&str>) -> Result<Transfer> {
    let (name, cfg) = ctx.config.remote(name)?;
    let remote = remote::open(&name, &cfg, ctx.repo.workdir.as_deref())?;
    Ok(Transfer::new(remote, ctx.cache.clone(), ctx.config.jobs)?)
}

/// Splits `[<remote>] [<ref>…]`: the first word is a remote when one of
/// that name is configured, else a revision; when it is neither (a
/// mistyped remote), the error says so and lists the remotes.
pub fn split_remote<'a>(
    ctx: &Ctx,
    args: &'a [String],
) -> Result<(Option<&'a str>, &'a [String]), ConfigError> {
    match args.split_first() {
        Some((first, rest)) if ctx.config.remotes.contains_key(first) => {
            Ok((Some(first.as_str()), rest))
        }
        Some((first, _)) if ctx.repo.git.revparse_single(first).is_err() => {
            Err(ConfigError::NotARemoteOrRevision {
                name: first.clone(),
                remotes: ctx.config.remotes.keys().cloned().collect(),
            })
        }
        _ => Ok((None, args)),
    }
}

/// Prints failures (one error line each, naming object and path) and a
/// summary; an error when anything failed.
pub fn finish(report: &Report, files: &[TrackedFile], verb: &str, remote: &str) -> Result<()> {
    let paths: HashMap<Oid, &str> = files
        .iter()
        .map(|f| (f.pointer.oid, f.path.as_str()))
        .collect();
    let mut said = std::collections::HashSet::new();
    for (oid, e) in &report.failed {
        if e.is_remote_wide() {
            // The same reason for every object: say it once.
            if said.insert(e.to_string()) {
                ui::error(&e.to_string());
            }
            continue;
        }
        match paths.get(oid) {
            Some(p) => ui::error(&format!("{e} ({p})")),
            None => ui::error(&e.to_string()),
        }
    }
    let n = report.transferred.len();
    if n > 0 || report.failed.is_empty() {
        let already = if report.skipped.is_empty() {
            String::new()
        } else {
            format!(", {} already there", report.skipped.len())
        };
        ui::info(&format!(
            "{verb} {n} object{} ({}) {} '{remote}'{already}.",
            if n == 1 { "" } else { "s" },
            human_size(report.bytes),
            if verb == "Uploaded" { "to" } else { "from" },
        ));
    }
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(
            "{} of {} objects failed to transfer (remote '{remote}')",
            report.failed.len(),
            report.failed.len() + n + report.skipped.len()
        ))
    }
}

/// Drops files that lie inside an import recorded at any of `revs`: their
/// data lives on the import's source remote, which a clone fetches from
/// (DVC does not push imported data either).
pub fn without_imports(
    ctx: &Ctx,
    files: Vec<crate::tracked::TrackedFile>,
    revs: &[String],
) -> Vec<crate::tracked::TrackedFile> {
    let mut prefixes: Vec<String> = Vec::new();
    for rev in revs {
        if let Ok(tree) = ctx
            .repo
            .git
            .revparse_single(rev)
            .and_then(|o| o.peel_to_tree())
        {
            prefixes.extend(
                crate::registry::import_routes(&ctx.repo.git, &tree)
                    .into_iter()
                    .map(|r| r.prefix),
            );
        }
    }
    if prefixes.is_empty() {
        return files;
    }
    files
        .into_iter()
        .filter(|f| {
            !prefixes
                .iter()
                .any(|p| checkout::matches_pathspec(&f.path, std::slice::from_ref(p)))
        })
        .collect()
}

/// Downloads what the cache lacks: files inside an import from the
/// import's source remote, the rest from `remote` (or the default).
pub fn download(ctx: &Ctx, remote: Option<&str>, files: &[TrackedFile]) -> Result<()> {
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
        let idx = routes.iter().position(|r| lies_in(&f.path, &r.prefix));
        match by_route.iter_mut().find(|(i, _)| *i == idx) {
            Some((_, v)) => v.push(f),
            None => by_route.push((idx, vec![f])),
        }
    }
    let mut result = Ok(());
    for (idx, group) in by_route {
        let transfer = match idx {
            Some(i) => Transfer::new(routes[i].remote.clone(), ctx.cache.clone(), ctx.config.jobs)?,
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

/// Opens the remotes for a checkout of `treeish`: the default one, and
/// those of the imports recorded in that commit. `None` (with a warning
/// when the config is broken) when there is none: files stay pointers.
pub fn open_fetcher(
    git_dir: &std::path::Path,
    cache: crate::cache::Cache,
    treeish: Option<&str>,
) -> Option<DelayFetcher> {
    let repo = crate::repo::Repo::open(git_dir).ok()?;
    let config = match crate::config::Config::load_for_checkout(&repo, treeish) {
        Ok(c) => c,
        Err(e) => {
            crate::ui::warn(&e.to_string());
            return None;
        }
    };
    let base = repo.workdir.clone();
    let default = match config.remote(None) {
        Ok((name, rc)) => match crate::remote::open(&name, &rc, base.as_deref()) {
            Ok(r) => Some(r),
            Err(e) => {
                crate::ui::warn(&e.to_string());
                None
            }
        },
        Err(_) => None,
    };
    let tree = treeish
        .and_then(|t| repo.git.revparse_single(t).ok())
        .or_else(|| repo.git.revparse_single("HEAD").ok())
        .and_then(|o| o.peel_to_tree().ok());
    let routes = match &tree {
        Some(t) => crate::registry::open_routes(
            crate::registry::import_routes(&repo.git, t),
            base.as_deref(),
        ),
        None => Vec::new(),
    };
    if default.is_none() && routes.is_empty() {
        return None;
    }
    DelayFetcher::new(cache, config.jobs, default, routes).ok()
}

/// What a `git push` sends, from the pre-push hook's stdin (`<local ref>
/// <local sha> <remote ref> <remote sha>` lines): the tracked files of the
/// pushed commits that the remote side does not have yet (not below what
/// it held, nor below `git_remote`'s tracking refs), and the pushed revs.
pub fn pushed_files(
    ctx: &Ctx,
    git_remote: &str,
    lines: &str,
) -> Result<(Vec<TrackedFile>, Vec<String>)> {
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    let mut revs = Vec::new();
    let mut not = Vec::new();
    for line in lines.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_local_ref, local_sha, _remote_ref, remote_sha] = f[..] else {
            continue;
        };
        if zero(local_sha) {
            continue; // a deletion pushes no data
        }
        revs.push(local_sha.to_string());
        let known =
            git2::Oid::from_str(remote_sha).is_ok_and(|id| ctx.repo.git.find_commit(id).is_ok());
        if !zero(remote_sha) && known {
            not.push(remote_sha.to_string());
        }
    }
    // Pushing to a named Git remote: what its tracking refs hold was pushed
    // (with its data) before.
    if !git_remote.is_empty() && ctx.repo.git.find_remote(git_remote).is_ok() {
        not.push(format!("--remotes={git_remote}"));
    }
    let files = crate::tracked::in_history(&ctx.repo, &revs, &not)?;
    Ok((files, revs))
}

/// What `pull` fetches: HEAD's data and whatever the index stages beyond
/// it, under `specs` and inside the sparse-checkout cone.
pub fn pull_files(ctx: &Ctx, specs: &[String]) -> Result<Vec<TrackedFile>> {
    // HEAD's data, and whatever the index stages beyond it.
    let mut files = crate::tracked::in_index(&ctx.repo)?;
    if ctx.repo.git.head().is_ok() {
        let staged: std::collections::HashSet<_> = files.iter().map(|f| f.pointer.oid).collect();
        files.extend(
            crate::tracked::in_rev(&ctx.repo, "HEAD")?
                .into_iter()
                .filter(|f| !staged.contains(&f.pointer.oid)),
        );
    }
    let outside = crate::index::outside_cone(&ctx.repo)?;
    files.retain(|f| {
        checkout::matches_pathspec(&f.path, specs) && !outside.contains(f.path.as_bytes())
    });
    Ok(files)
}
