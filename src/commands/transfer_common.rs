//! What push, fetch, pull and the pre-push hook share: opening the remote,
//! choosing objects, and reporting outcomes.

use std::collections::HashMap;

use anyhow::{Result, anyhow};

use super::Ctx;
use crate::config::ConfigError;
use crate::oid::Oid;
use crate::remote;
use crate::tracked::TrackedFile;
use crate::transfer::{Report, Transfer};
use crate::ui::{self, human_size};

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
                    .map(|r| r.0),
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
                .any(|p| crate::checkout::matches_pathspec(&f.path, std::slice::from_ref(p)))
        })
        .collect()
}
