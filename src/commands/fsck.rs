//! `git dvc fsck [--remote <r>]`: re-hash every object and report (and
//! quarantine) the corrupt ones.

use std::fs;
use std::sync::Mutex;

use anyhow::{Result, bail};

use crate::cli::FsckArgs;
use crate::context::Ctx;
use crate::oid::Oid;
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
    let cache = &ctx.cache;
    let next = Mutex::new(oids.iter());
    let bad = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map(std::num::NonZero::get)
        .unwrap_or(2);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let Some(oid) = next.lock().expect("not poisoned").next().copied() else {
                        break;
                    };
                    let path = cache.object_path(&oid);
                    let ok = fs::File::open(&path)
                        .map(|f| {
                            Oid::hash_reader(std::io::BufReader::with_capacity(crate::IO_BUF, f))
                        })
                        .ok()
                        .and_then(Result::ok)
                        .is_some_and(|(actual, _)| actual == oid);
                    if !ok {
                        bad.lock().expect("not poisoned").push(oid);
                    }
                }
            });
        }
    });
    let bad = bad.into_inner().expect("not poisoned");
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
