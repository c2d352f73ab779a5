//! The pointer: the three-line text Git stores in place of a tracked file.
//!
//! ```text
//! version = "git-dvc/1"
//! oid = "sha256:<64 lowercase hex>"
//! size = <decimal byte count>
//! ```
//!
//! The parser is strict on purpose: a blob is a pointer only in exactly this
//! canonical form, so parsing and writing are inverse and Git never sees a
//! spurious change. Anything else is content.

use crate::oid::Oid;

/// The largest blob that can be a pointer. Content longer than this is never
/// inspected as a pointer, which keeps the check O(1) on large files.
pub const MAX_POINTER_SIZE: usize = 200;

/// The first line of every pointer.
pub const VERSION_LINE: &str = "version = \"git-dvc/1\"\n";
/// The prefix every git-dvc pointer version shares; a blob starting with it
/// that does not parse is reported as a malformed pointer, not passed off as
/// ordinary content without a word.
const VERSION_PREFIX: &[u8] = b"version = \"git-dvc/";

/// A parsed pointer: which object, and how long it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pointer {
    /// The SHA-256 of the content.
    pub oid: Oid,
    /// The content length in bytes; never 0 (empty files are empty blobs).
    pub size: u64,
}

/// Why a blob is not a pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// The blob does not start like a pointer at all: it is content.
    #[error("not a git-dvc pointer")]
    NotAPointer,
    /// The blob starts like a pointer but is not in canonical form.
    #[error("malformed git-dvc pointer: {0}")]
    Malformed(&'static str),
}

impl Pointer {
    /// Builds a pointer for content of `size` bytes (`size` > 0).
    pub fn new(oid: Oid, size: u64) -> Pointer {
        debug_assert!(size > 0, "empty content is never a pointer");
        Pointer { oid, size }
    }

    /// Parses the canonical form and nothing else.
    pub fn parse(blob: &[u8]) -> Result<Pointer, PointerError> {
        if !blob.starts_with(VERSION_PREFIX) {
            return Err(PointerError::NotAPointer);
        }
        let malformed = PointerError::Malformed;
        if blob.len() > MAX_POINTER_SIZE {
            return Err(malformed("longer than 200 bytes"));
        }
        let text = std::str::from_utf8(blob).map_err(|_| malformed("not UTF-8"))?;
        let rest = text
            .strip_prefix(VERSION_LINE)
            .ok_or(malformed("unknown version line"))?;
        let rest = rest
            .strip_prefix("oid = \"sha256:")
            .ok_or(malformed("second line must be oid = \"sha256:…\""))?;
        let (hex, rest) = rest
            .split_once("\"\n")
            .ok_or(malformed("unterminated oid line"))?;
        let oid = Oid::from_hex(hex).ok_or(malformed("oid is not 64 lowercase hex digits"))?;
        let rest = rest
            .strip_prefix("size = ")
            .ok_or(malformed("third line must be size = <bytes>"))?;
        let digits = rest
            .strip_suffix('\n')
            .ok_or(malformed("size line must end with a newline"))?;
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.starts_with('0'))
        {
            return Err(malformed(
                "size must be a positive decimal without leading zeros",
            ));
        }
        let size: u64 = digits.parse().map_err(|_| malformed("size out of range"))?;
        Ok(Pointer { oid, size })
    }

    /// The canonical text. `parse(p.encode())` is `p`, always.
    pub fn encode(&self) -> String {
        format!(
            "{VERSION_LINE}oid = \"sha256:{}\"\nsize = {}\n",
            self.oid, self.size
        )
    }

    /// True when `blob` could be a pointer by its length alone; lets callers
    /// skip reading large blobs.
    pub fn could_be(len: u64) -> bool {
        len > 0 && len <= MAX_POINTER_SIZE as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";

    fn sample() -> Pointer {
        Pointer::new(Oid::from_hex(HEX).unwrap(), 1048576)
    }

    #[test]
    fn canonical_bytes() {
        assert_eq!(
            sample().encode(),
            format!("version = \"git-dvc/1\"\noid = \"sha256:{HEX}\"\nsize = 1048576\n")
        );
    }

    #[test]
    fn encoded_pointer_is_valid_toml() {
        let v: toml::Table = toml::from_str(&sample().encode()).unwrap();
        assert_eq!(v["version"].as_str(), Some("git-dvc/1"));
        assert_eq!(v["size"].as_integer(), Some(1048576));
    }

    #[test]
    fn content_is_not_a_pointer() {
        assert_eq!(Pointer::parse(b""), Err(PointerError::NotAPointer));
        assert_eq!(Pointer::parse(b"hello"), Err(PointerError::NotAPointer));
        let lfs = format!("version https://git-lfs.github.com/spec/v1\noid sha256:{HEX}\nsize 3\n");
        assert_eq!(
            Pointer::parse(lfs.as_bytes()),
            Err(PointerError::NotAPointer)
        );
    }

    #[test]
    fn each_malformed_variant_is_rejected() {
        let good = sample().encode();
        let variants = [
            good.replace("git-dvc/1", "git-dvc/2"),
            good.replace('\n', "\r\n"),
            good.trim_end().to_string(),
            good.replace("size = 1048576", "size = 01048576"),
            good.replace("size = 1048576", "size = 0"),
            good.replace("size = 1048576", "size = -1"),
            good.replace("size = 1048576", "size = 1e6"),
            good.replace("size = 1048576", "size = 99999999999999999999999"),
            good.replace("size = 1048576", "size =  1048576"),
            good.replace("sha256:", "sha1:"),
            good.replace(HEX, &HEX.to_uppercase()),
            good.replace(HEX, &HEX[..63]),
            good.replace("oid = ", "oid="),
            format!("{good}extra = 1\n"),
            format!("{good}\n"),
            good.replace("version = \"git-dvc/1\"\n", "version = \"git-dvc/1\"\n\n"),
            {
                // size line first: same keys, wrong order
                let lines: Vec<&str> = good.lines().collect();
                format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1])
            },
        ];
        for v in variants {
            assert!(
                matches!(
                    Pointer::parse(v.as_bytes()),
                    Err(PointerError::Malformed(_))
                ),
                "accepted {v:?}"
            );
        }
    }

    fn arb_pointer() -> impl Strategy<Value = Pointer> {
        (any::<[u8; 32]>(), 1u64..=u64::MAX).prop_map(|(bytes, size)| {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            Pointer::new(Oid::from_hex(&hex).unwrap(), size)
        })
    }

    proptest! {
        #[test]
        fn round_trip(p in arb_pointer()) {
            let text = p.encode();
            prop_assert!(text.len() <= MAX_POINTER_SIZE);
            prop_assert_eq!(Pointer::parse(text.as_bytes()), Ok(p));
        }

        /// Whatever the parser accepts, re-encoding gives back the same bytes:
        /// there is exactly one spelling of every pointer.
        #[test]
        fn accepted_means_canonical(p in arb_pointer(), pos in 0usize..130, byte in any::<u8>()) {
            let mut bytes = p.encode().into_bytes();
            let pos = pos % bytes.len();
            bytes[pos] = byte;
            if let Ok(q) = Pointer::parse(&bytes) {
                prop_assert_eq!(q.encode().into_bytes(), bytes);
            }
        }

        #[test]
        fn insertion_or_deletion_is_rejected(p in arb_pointer(), pos in 0usize..130, byte in any::<u8>(), delete in any::<bool>()) {
            let mut bytes = p.encode().into_bytes();
            let pos = pos % bytes.len();
            if delete { bytes.remove(pos); } else { bytes.insert(pos, byte); }
            if let Ok(q) = Pointer::parse(&bytes) {
                // Only a change inside the size digits can still parse, and
                // then it must be canonical and a different pointer.
                prop_assert_eq!(q.encode().into_bytes(), bytes.clone());
                prop_assert_ne!(q, p);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Pointer::parse(&bytes);
        }
    }
}
