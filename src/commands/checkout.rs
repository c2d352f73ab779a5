//! `git dvc checkout [<path>…]`.

use anyhow::Result;

use super::{Ctx, Exit};
use crate::checkout;
use crate::cli::CheckoutArgs;
use crate::filter::summary;
use crate::ui;

/// Turns paths given relative to the current directory into repo-relative
/// pathspecs.
pub fn pathspecs(ctx: &Ctx, paths: &[std::path::PathBuf]) -> Result<Vec<String>> {
    paths
        .iter()
        .map(|p| Ok(ctx.repo.repo_relative(p)?))
        .collect()
}

/// Runs `git dvc checkout`.
pub fn run(args: &CheckoutArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let specs = pathspecs(&ctx, &args.paths)?;
    let files = checkout::pointer_files(&ctx.repo, &specs)?;
    let report = checkout::materialize(&ctx.repo, &ctx.cache, &files, ctx.config.direct_size)?;
    print_report(&report);
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Exit { code: 1 }.into())
    }
}

/// Says what a materialization did.
pub fn print_report(report: &checkout::Report) {
    if !report.written.is_empty() {
        let n = report.written.len();
        ui::info(&format!(
            "Checked out {n} file{}.",
            if n == 1 { "" } else { "s" }
        ));
    }
    if !report.missing.is_empty() {
        let paths: Vec<String> = report.missing.iter().map(|(p, _)| p.clone()).collect();
        ui::warn(&format!(
            "{} left as pointers: their objects are not in the cache; run `git dvc pull` to fetch them",
            summary(&paths)
        ));
    }
    for (path, why) in &report.failed {
        ui::error(&format!("{why} ({path})"));
    }
}
