//! `git dvc pointer <file>`: the pointer for a file, and the textconv that
//! makes `git diff` of tracked files readable.

use anyhow::Result;

use crate::cli::PointerArgs;
use crate::worktree::pointer_of;

/// Runs `git dvc pointer`.
pub fn run(args: &PointerArgs) -> Result<()> {
    let pointer = pointer_of(&args.file)?;
    match (pointer, args.textconv) {
        (None, _) => {}
        (Some(p), true) => println!("size {}, oid {}…", p.size, p.oid.short(8)),
        (Some(p), false) => print!("{}", p.encode()),
    }
    Ok(())
}
