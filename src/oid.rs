//! Object ids: the SHA-256 of a file's content, which names it in the cache,
//! on every remote and in its pointer.

use std::fmt;
use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// A SHA-256 object id. Kept as raw bytes so maps and comparisons stay cheap;
/// rendered as 64 lowercase hex digits everywhere a user or a path sees it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid([u8; 32]);

impl Oid {
    /// The id of the empty content. Empty files never become pointers, but
    /// the constant is handy for checks.
    pub const EMPTY_HEX: &'static str =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// Parses exactly 64 lowercase hex digits. Uppercase is refused so that
    /// one object has one spelling (and one path in the cache).
    pub fn from_hex(s: &str) -> Option<Oid> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Oid(out))
    }

    /// The full 64-digit hex form.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for byte in self.0 {
            s.push(DIGITS[(byte >> 4) as usize] as char);
            s.push(DIGITS[(byte & 15) as usize] as char);
        }
        s
    }

    /// The first `n` hex digits, for human-facing listings.
    pub fn short(&self, n: usize) -> String {
        let mut s = self.to_hex();
        s.truncate(n.min(64));
        s
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The id of `bytes`.
    pub fn hash_bytes(bytes: &[u8]) -> Oid {
        Oid(Sha256::digest(bytes).into())
    }

    /// Hashes a whole reader, returning its id and length. Used where content
    /// must be identified without being stored (`git dvc pointer`, fsck).
    pub fn hash_reader(mut r: impl Read) -> io::Result<(Oid, u64)> {
        let mut h = HashingWriter::new(io::sink());
        let mut buf = crate::StreamBuf::new();
        loop {
            let n = match r.read(buf.get()) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            h.write_all(&buf.get()[..n])?;
            buf.filled(n);
        }
        let (_, oid, size) = h.finish();
        Ok((oid, size))
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.to_hex())
    }
}

/// An incremental SHA-256 that yields an [`Oid`]: for readers that check
/// bytes as they pass.
#[derive(Default, Clone)]
pub struct Hasher(Sha256);

impl Hasher {
    /// A fresh hasher.
    pub fn new() -> Hasher {
        Hasher::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The id of everything fed.
    pub fn finish(self) -> Oid {
        Oid(self.0.finalize().into())
    }
}

/// A writer that hashes and counts everything passing through it, so content
/// is hashed exactly once, on its way to wherever it is stored.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The inner writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Returns the inner writer, the id and the length of what was written.
    pub fn finish(self) -> (W, Oid, u64) {
        let digest = self.hasher.finalize();
        (self.inner, Oid(digest.into()), self.len)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_strictness() {
        let oid = Oid::from_hex(Oid::EMPTY_HEX).unwrap();
        assert_eq!(oid.to_hex(), Oid::EMPTY_HEX);
        assert_eq!(oid.short(8), "e3b0c442");
        assert!(Oid::from_hex(&Oid::EMPTY_HEX.to_uppercase()).is_none());
        assert!(Oid::from_hex(&Oid::EMPTY_HEX[1..]).is_none());
        assert!(Oid::from_hex(&format!("{}0", Oid::EMPTY_HEX)).is_none());
        assert!(Oid::from_hex(&"g".repeat(64)).is_none());
    }

    #[test]
    fn hashes_like_sha256sum() {
        let (oid, len) = Oid::hash_reader(&b"hello\n"[..]).unwrap();
        assert_eq!(len, 6);
        assert_eq!(
            oid.to_hex(),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        let (empty, _) = Oid::hash_reader(&b""[..]).unwrap();
        assert_eq!(empty.to_hex(), Oid::EMPTY_HEX);
    }
}
