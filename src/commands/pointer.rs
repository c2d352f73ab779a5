//! `git dvc pointer <file>`: the pointer for a file, and the textconv that
//! makes `git diff` of tracked files readable.

use std::fs::File;
use std::io::{BufReader, Read};

use anyhow::{Context, Result};

use crate::cli::PointerArgs;
use crate::oid::Oid;
use crate::pointer::{MAX_POINTER_SIZE, Pointer};

/// The pointer for the file at `path`: parsed when it is one, else its
/// content hashed (not stored). `None` for an empty file.
pub fn pointer_of(path: &std::path::Path) -> Result<Option<Pointer>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = BufReader::with_capacity(crate::IO_BUF, file);
    let mut head = Vec::with_capacity(MAX_POINTER_SIZE + 1);
    (&mut reader)
        .take(MAX_POINTER_SIZE as u64 + 1)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if head.is_empty() {
        return Ok(None);
    }
    if let Ok(p) = Pointer::parse(&head) {
        return Ok(Some(p));
    }
    let (oid, size) = Oid::hash_reader((&head[..]).chain(reader))
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(Pointer::new(oid, size)))
}

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
