//! `git-dvc merge-driver %O %A %B %P`: what Git runs for `merge=dvc`.

use std::fs;

use anyhow::{Context, Result};

use crate::cli::MergeDriverArgs;
use crate::context::Exit;
use crate::merge::{self, Outcome};
use crate::ui;

/// Runs the driver: the result goes to the "ours" file; exit 0 when clean,
/// 1 on a conflict (Git then records both sides and stops the merge).
pub fn run(args: &MergeDriverArgs) -> Result<()> {
    let read = |p: &std::path::Path| {
        fs::read(p).with_context(|| format!("cannot read a merge input ({})", p.display()))
    };
    let (base, ours, theirs) = (read(&args.base)?, read(&args.ours)?, read(&args.theirs)?);
    match merge::decide(&base, &ours, &theirs) {
        Outcome::Ours => Ok(()),
        Outcome::Theirs => crate::fsutil::write_atomic(&args.ours, &theirs)
            .with_context(|| format!("cannot write the merge result ({})", args.ours.display())),
        Outcome::Conflict => {
            let path = args.path.as_deref().unwrap_or("<unknown path>");
            ui::warn(&format!(
                "both sides changed the data in {path} (ours {}; theirs {}); the worktree keeps ours: \
                 keep it with `git add {path}`, or take theirs with `git checkout --theirs {path}` then `git add {path}`",
                merge::describe(&ours),
                merge::describe(&theirs)
            ));
            Err(Exit { code: 1 }.into())
        }
    }
}
