//! `git dvc diff [<rev> [<rev>]] [--json]`: tracked data that changed.

use std::collections::BTreeMap;
use std::fs::File;

use anyhow::{Context, Result};
use serde::Serialize;

use super::Ctx;
use super::ls_files::{WorktreeState, worktree_state};
use crate::cli::DiffArgs;
use crate::oid::Oid;
use crate::pointer::Pointer;
use crate::tracked;

type Side = BTreeMap<String, Pointer>;

fn rev_side(ctx: &Ctx, rev: &str) -> Result<Side> {
    // A repository with no commit yet compares against nothing.
    if rev == "HEAD" && ctx.repo.git.head().is_err() {
        return Ok(Side::new());
    }
    Ok(tracked::in_rev(&ctx.repo, rev)?
        .into_iter()
        .map(|t| (t.path, t.pointer))
        .collect())
}

/// The worktree as git-dvc sees it: the index's pointers, with modified
/// files hashed (not stored) and deleted ones dropped.
fn worktree_side(ctx: &Ctx) -> Result<Side> {
    let root = ctx.repo.workdir()?.to_path_buf();
    let modified = super::status::modified_paths(ctx)?;
    let mut side = Side::new();
    for f in tracked::in_index(&ctx.repo)? {
        match worktree_state(&root, &f) {
            WorktreeState::Missing => continue,
            WorktreeState::Content if modified.contains(&f.path) => {
                let path = root.join(&f.path);
                let file =
                    File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
                let (oid, size) =
                    Oid::hash_reader(std::io::BufReader::with_capacity(crate::IO_BUF, file))?;
                if size > 0 {
                    side.insert(f.path, Pointer::new(oid, size));
                }
            }
            _ => {
                side.insert(f.path, f.pointer);
            }
        }
    }
    Ok(side)
}

#[derive(Serialize)]
struct Obj {
    oid: String,
    size: u64,
}

impl From<&Pointer> for Obj {
    fn from(p: &Pointer) -> Obj {
        Obj {
            oid: format!("sha256:{}", p.oid),
            size: p.size,
        }
    }
}

#[derive(Serialize)]
struct Change {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    old: Option<Obj>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<Obj>,
}

#[derive(Serialize, Default)]
struct Diff {
    added: Vec<Change>,
    modified: Vec<Change>,
    deleted: Vec<Change>,
}

/// Runs `git dvc diff`.
pub fn run(args: &DiffArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let old = rev_side(&ctx, args.old.as_deref().unwrap_or("HEAD"))?;
    let new = match &args.new {
        Some(rev) => rev_side(&ctx, rev)?,
        None => worktree_side(&ctx)?,
    };
    let mut diff = Diff::default();
    for (path, p) in &new {
        match old.get(path) {
            None => diff.added.push(Change {
                path: path.clone(),
                old: None,
                new: Some(p.into()),
            }),
            Some(o) if o != p => diff.modified.push(Change {
                path: path.clone(),
                old: Some(o.into()),
                new: Some(p.into()),
            }),
            Some(_) => {}
        }
    }
    for (path, o) in &old {
        if !new.contains_key(path) {
            diff.deleted.push(Change {
                path: path.clone(),
                old: Some(o.into()),
                new: None,
            });
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
        return Ok(());
    }
    let short = |o: &Obj| format!("{}…", &o.oid[7..15]);
    let mut out = String::new();
    for c in &diff.added {
        let n = c.new.as_ref().expect("added has new");
        out.push_str(&format!(
            "added:    {} (size {}, oid {})\n",
            c.path,
            n.size,
            short(n)
        ));
    }
    for c in &diff.modified {
        let (o, n) = (c.old.as_ref().expect("old"), c.new.as_ref().expect("new"));
        out.push_str(&format!(
            "modified: {} (size {} -> {}, oid {} -> {})\n",
            c.path,
            o.size,
            n.size,
            short(o),
            short(n)
        ));
    }
    for c in &diff.deleted {
        let o = c.old.as_ref().expect("deleted has old");
        out.push_str(&format!(
            "deleted:  {} (size {}, oid {})\n",
            c.path,
            o.size,
            short(o)
        ));
    }
    print!("{out}");
    Ok(())
}
