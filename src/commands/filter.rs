//! `git-dvc filter-process`, `clean` and `smudge`: what Git runs.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::AsFd;

use anyhow::{Context, Result};

use super::Ctx;
use crate::cli::{FilterProcessArgs, OneShotArgs};
use crate::filter::{Filter, process};
use crate::hooks;

/// True when `GIT_DVC_SKIP_SMUDGE` asks to leave pointers alone.
pub fn skip_smudge_env() -> bool {
    std::env::var("GIT_DVC_SKIP_SMUDGE").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Our stdin and stdout as plain files. Rust's `Stdout` is line-buffered,
/// which would cut binary content into a write per newline.
fn raw_stdio() -> io::Result<(File, File)> {
    let input = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let output = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    Ok((input, output))
}

fn open_filter(skip: bool) -> Result<(Ctx, Filter)> {
    let ctx = Ctx::open()?;
    let filter = Filter::new(ctx.cache.clone(), skip || skip_smudge_env());
    Ok((ctx, filter))
}

/// Runs `git-dvc filter-process`.
pub fn filter_process(args: &FilterProcessArgs) -> Result<()> {
    let (ctx, mut filter) = open_filter(args.skip)?;
    if ctx.repo.workdir.is_some() {
        hooks::install_missing(&ctx.repo);
    }
    let (input, output) = raw_stdio()?;
    let input = BufReader::with_capacity(1 << 17, input);
    let output = BufWriter::with_capacity(1 << 17, output);
    process::serve(&mut filter, None, input, output)?;
    Ok(())
}

/// Runs the one-shot `git-dvc clean`.
pub fn clean(args: &OneShotArgs) -> Result<()> {
    let (_ctx, mut filter) = open_filter(false)?;
    let path = args.path.as_deref().unwrap_or("<stdin>");
    let (input, mut output) = raw_stdio()?;
    let bytes = filter.clean(path, &mut BufReader::with_capacity(1 << 17, input))?;
    output.write_all(&bytes).context("cannot write to git")?;
    Ok(())
}

/// Runs the one-shot `git-dvc smudge`.
pub fn smudge(args: &OneShotArgs) -> Result<()> {
    let (_ctx, mut filter) = open_filter(args.skip)?;
    let path = args.path.as_deref().unwrap_or("<stdin>");
    let (input, output) = raw_stdio()?;
    let out = filter.smudge(path, &mut BufReader::with_capacity(1 << 17, input))?;
    let mut output = BufWriter::with_capacity(1 << 17, output);
    out.write_to(&mut |r: &mut dyn Read| crate::cache::copy(r, &mut output))
        .context("cannot write to git")?;
    output.flush().context("cannot write to git")?;
    filter.finish();
    Ok(())
}
