//! The `merge.dvc` driver: three-way merge of pointers.
//!
//! Git hands the driver the three blobs as they are stored (pointers, not
//! content). Data cannot be merged line by line, so the driver decides by
//! identity: when one side left the file as it was, the other side wins;
//! when both changed it differently, it is a conflict, and "ours" stays as
//! the result, so the worktree gets real content (Git smudges the result),
//! never pointer text with conflict markers. Both versions stay reachable
//! as the index's stages 2 and 3 (`git checkout --ours/--theirs`).

use crate::pointer::Pointer;

/// What the driver decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Clean: the result is ours as it is.
    Ours,
    /// Clean: the result is theirs.
    Theirs,
    /// Both sides changed the data: ours is kept, the merge stops.
    Conflict,
}

/// Decides a three-way merge of the blobs `base`, `ours`, `theirs`.
/// Equality is of the bytes Git stores: two pointers are equal exactly when
/// they name the same content.
pub fn decide(base: &[u8], ours: &[u8], theirs: &[u8]) -> Outcome {
    if ours == theirs || base == theirs {
        Outcome::Ours
    } else if base == ours {
        Outcome::Theirs
    } else {
        Outcome::Conflict
    }
}

/// "sha256:0123abcd…, 1.2 MiB" for a side, or "not a git-dvc pointer".
pub fn describe(blob: &[u8]) -> String {
    match Pointer::parse(blob) {
        Ok(p) => format!("{}, {}", p.oid.short(12), crate::ui::human_size(p.size)),
        Err(_) if blob.is_empty() => "empty".to_string(),
        Err(_) => "not a git-dvc pointer".to_string(),
    }
}

/// True when `content` is a pointer text with merge conflict markers: what
/// a text merge of two pointers leaves when no driver is configured. Clean
/// refuses to store it as data.
pub fn is_conflicted_pointer_text(content: &[u8]) -> bool {
    let line_starts = |marker: &[u8]| {
        content
            .split(|&b| b == b'\n')
            .any(|line| line.starts_with(marker))
    };
    content.len() <= CONFLICT_TEXT_MAX
        && could_be_conflict_text(content)
        && content
            .windows(crate::pointer::VERSION_LINE.len())
            .any(|w| w == crate::pointer::VERSION_LINE.as_bytes())
        && line_starts(b"<<<<<<< ")
        && line_starts(b"=======")
        && line_starts(b">>>>>>> ")
}

/// The most a text merge of two pointers can be, markers and labels
/// included.
pub const CONFLICT_TEXT_MAX: usize = 4096;

/// Whether the first bytes of a file could start a text merge of pointers
/// (a marker, or the pointers' common first line): worth reading on.
pub fn could_be_conflict_text(head: &[u8]) -> bool {
    head.starts_with(b"<<<<<<< ") || head.starts_with(crate::pointer::VERSION_LINE.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_side_unchanged_takes_the_other() {
        assert_eq!(decide(b"a", b"a", b"b"), Outcome::Theirs);
        assert_eq!(decide(b"a", b"b", b"a"), Outcome::Ours);
        assert_eq!(decide(b"a", b"b", b"b"), Outcome::Ours);
        assert_eq!(decide(b"a", b"b", b"c"), Outcome::Conflict);
        assert_eq!(decide(b"", b"b", b"c"), Outcome::Conflict);
    }

    #[test]
    fn conflict_text_is_recognised() {
        let p = "version = \"git-dvc/1\"\noid = \"sha256:00\"\nsize = 1\n";
        let text = format!("<<<<<<< HEAD\n{p}=======\n{p}>>>>>>> other\n");
        assert!(is_conflicted_pointer_text(text.as_bytes()));
        assert!(!is_conflicted_pointer_text(p.as_bytes()));
        assert!(!is_conflicted_pointer_text(
            b"<<<<<<< HEAD\nplain\n=======\nx\n>>>>>>> o\n"
        ));
        // Git's line merge keeps the common first line outside the markers.
        let lines = "version = \"git-dvc/1\"\n<<<<<<< HEAD\noid = \"sha256:01\"\n=======\noid = \"sha256:02\"\n>>>>>>> other\nsize = 5\n";
        assert!(is_conflicted_pointer_text(lines.as_bytes()));
    }
}
