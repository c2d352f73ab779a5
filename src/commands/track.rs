//! `git dvc track` / `untrack`.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::attributes;
use crate::cli::{TrackArgs, UntrackArgs};
use crate::repo::Repo;
use crate::tracked;
use crate::ui;

/// Patterns are given relative to the current directory, like paths; the
/// root .gitattributes needs them relative to the root.
fn root_patterns(repo: &Repo, patterns: &[String]) -> Result<Vec<String>> {
    let root = repo.workdir()?;
    let cwd = std::env::current_dir()?;
    let prefix = pathdiff::diff_paths(&cwd, root).unwrap_or_default();
    let prefix = prefix.to_string_lossy();
    patterns
        .iter()
        .map(|p| {
            if p.starts_with('!') {
                bail!("negative patterns are not allowed in .gitattributes ({p})");
            }
            if p.contains('\n') || p.is_empty() {
                bail!("invalid pattern ({p:?})");
            }
            let p = p.strip_prefix("./").unwrap_or(p);
            Ok(
                if prefix.is_empty() || prefix == "." || p.starts_with('/') {
                    attributes::escape(p)
                } else {
                    attributes::escape(&format!("{prefix}/{p}"))
                },
            )
        })
        .collect()
}

/// Runs `git dvc track`.
pub fn track(args: &TrackArgs) -> Result<()> {
    let repo = Repo::discover()?;
    let path = repo.workdir()?.join(".gitattributes");
    let text =
        attributes::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if args.patterns.is_empty() {
        println!("Listing tracked patterns");
        for p in text.lines().filter_map(attributes::tracked_pattern) {
            println!("    {} (.gitattributes)", attributes::unescape(p));
        }
        return Ok(());
    }
    let patterns = root_patterns(&repo, &args.patterns)?;
    let (new_text, added) = attributes::add(&text, &patterns);
    for p in &patterns {
        let shown = attributes::unescape(p);
        if added.contains(p) {
            ui::out(&format!("Tracking \"{shown}\""));
        } else {
            ui::out(&format!("\"{shown}\" already tracked"));
        }
    }
    if !added.is_empty() {
        crate::fsutil::write_atomic(&path, new_text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        touch_newly_tracked(&repo)?;
    }
    Ok(())
}

/// Files already in the index as plain blobs that the new patterns now
/// cover get a fresh mtime, so the next `git add` runs them through the
/// clean filter instead of trusting the index's stat data.
fn touch_newly_tracked(repo: &Repo) -> Result<()> {
    let listed = repo.git_output(["ls-files", "-z"])?;
    if listed.is_empty() {
        return Ok(());
    }
    let attrs = repo.git_with_input(["check-attr", "-z", "--stdin", "filter"], &listed)?;
    let mut fields = attrs.split(|b| *b == 0);
    let mut dvc = HashSet::new();
    while let (Some(path), Some(_attr), Some(value)) = (fields.next(), fields.next(), fields.next())
    {
        if value == b"dvc" {
            dvc.insert(String::from_utf8_lossy(path).into_owned());
        }
    }
    if dvc.is_empty() {
        return Ok(());
    }
    let pointers: HashSet<String> = tracked::in_index(repo)?
        .into_iter()
        .map(|t| t.path)
        .collect();
    let root = repo.workdir()?;
    let now = SystemTime::now();
    for path in dvc.difference(&pointers) {
        if let Ok(f) = OpenOptions::new().write(true).open(root.join(path)) {
            if f.set_modified(now).is_err() {
                ui::verbose(&format!("could not touch {path}"));
            }
        }
    }
    Ok(())
}

/// Runs `git dvc untrack`.
pub fn untrack(args: &UntrackArgs) -> Result<()> {
    let repo = Repo::discover()?;
    let path = repo.workdir()?.join(".gitattributes");
    let text =
        attributes::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let patterns = root_patterns(&repo, &args.patterns)?;
    let (new_text, removed) = attributes::remove(&text, &patterns);
    for p in &patterns {
        let shown = attributes::unescape(p);
        if removed.contains(p) {
            ui::out(&format!("Untracking \"{shown}\""));
        } else {
            ui::warn(&format!("\"{shown}\" was not tracked (.gitattributes)"));
        }
    }
    if !removed.is_empty() {
        crate::fsutil::write_atomic(&path, new_text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
