//! `git dvc diff [<rev> [<rev>]] [--json]`: tracked data that changed.

use anyhow::Result;
use serde::Serialize;

use crate::cli::DiffArgs;
use crate::context::Ctx;
use crate::pointer::Pointer;
use crate::worktree::{rev_side, worktree_side};

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
    let old = rev_side(&ctx.repo, args.old.as_deref().unwrap_or("HEAD"))?;
    let new = match &args.new {
        Some(rev) => rev_side(&ctx.repo, rev)?,
        None => worktree_side(&ctx.repo)?,
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
