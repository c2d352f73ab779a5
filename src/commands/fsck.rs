//! `git dvc fsck [--remote <r>]`: re-hash every object and report (and
//! quarantine) the corrupt ones.

use anyhow::{Result, bail};

use crate::cli::FsckArgs;
use crate::context::Ctx;
use crate::sync::open_transfer;
use crate::ui;

/// Runs `git dvc fsck`.
pub fn run(args: &FsckArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    match &args.remote {
        None => check_cache(&ctx),
        Some(name) => check_remote(&ctx, name),
    }
}

fn check_cache(ctx: &Ctx) -> Result<()> {
    let oids = ctx.cache.list()?;
    let bad = ctx.cache.corrupt_objects(&oids);
    for oid in &bad {
        let dest = ctx.cache.quarantine(oid)?;
        ui::error(&format!("corrupt object {oid} moved to {}", dest.display()));
    }
    if bad.is_empty() {
        ui::info(&format!("Checked {} objects: all good.", oids.len()));
        Ok(())
    } else {
        bail!(
            "{} of {} objects were corrupt (cache {})",
            bad.len(),
            oids.len(),
            ctx.cache.root().display()
        )
    }
}

fn check_remote(ctx: &Ctx, name: &str) -> Result<()> {
    let transfer = open_transfer(ctx, Some(name))?;
    let oids = transfer.list()?;
    let failed = transfer.verify(&oids)?;
    for (_, e) in &failed {
        ui::error(&e.to_string());
    }
    let bad = failed.len();
    if bad == 0 {
        ui::info(&format!(
            "Checked {} objects on remote '{}': all good.",
            oids.len(),
            transfer.remote_name()
        ));
        Ok(())
    } else {
        bail!(
            "{bad} of {} objects on remote '{}' are corrupt or unreadable",
            oids.len(),
            transfer.remote_name()
        )
    }
}
