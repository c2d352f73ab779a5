//! Git's pkt-line framing, as the long-running filter protocol uses it.
//!
//! Each packet is a 4-digit lowercase hex length (which counts those 4
//! bytes) followed by the payload; `0000` is a flush packet. Payloads are at
//! most 65516 bytes.

use std::io::{self, Read, Write};

/// Largest payload in one packet.
pub const MAX_DATA: usize = 65516;

/// One packet as read.
#[derive(Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// A data packet.
    Data(&'a [u8]),
    /// `0000`.
    Flush,
}

/// Reads packets from Git.
pub struct PktReader<R> {
    inner: R,
    buf: Vec<u8>,
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

impl<R: Read> PktReader<R> {
    /// Wraps a reader (Git's end of our stdin).
    pub fn new(inner: R) -> Self {
        PktReader {
            inner,
            buf: vec![0; MAX_DATA],
        }
    }

    /// Reads one packet; `None` on a clean end of input between packets.
    pub fn read_packet(&mut self) -> io::Result<Option<Packet<'_>>> {
        let mut len_hex = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match self.inner.read(&mut len_hex[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let text = std::str::from_utf8(&len_hex).map_err(|_| invalid("bad pkt-line length"))?;
        let len = usize::from_str_radix(text, 16)
            .map_err(|_| invalid(format!("bad pkt-line length {text:?}")))?;
        match len {
            0 => Ok(Some(Packet::Flush)),
            1..=4 => Err(invalid(format!("unsupported pkt-line {text:?}"))),
            _ if len - 4 > MAX_DATA => Err(invalid(format!("pkt-line too long: {len}"))),
            _ => {
                let data = &mut self.buf[..len - 4];
                self.inner.read_exact(data)?;
                Ok(Some(Packet::Data(data)))
            }
        }
    }

    /// Reads text lines up to a flush. `Ok(None)` when input ended before the
    /// first line: Git closed the pipe and the filter should exit.
    pub fn read_list(&mut self) -> io::Result<Option<Vec<String>>> {
        let mut lines = Vec::new();
        loop {
            let packet = match self.read_packet()? {
                None if lines.is_empty() => return Ok(None),
                None => return Err(io::ErrorKind::UnexpectedEof.into()),
                Some(p) => p,
            };
            match packet {
                Packet::Flush => return Ok(Some(lines)),
                Packet::Data(d) => {
                    let d = d.strip_suffix(b"\n").unwrap_or(d);
                    lines.push(
                        String::from_utf8(d.to_vec())
                            .map_err(|_| invalid("non-UTF-8 text packet"))?,
                    );
                }
            }
        }
    }

    /// A reader over the content packets up to the next flush.
    pub fn content(&mut self) -> ContentReader<'_, R> {
        ContentReader {
            pkt: self,
            pos: 0,
            len: 0,
            done: false,
        }
    }
}

/// Streams one content section (data packets up to a flush) as bytes.
pub struct ContentReader<'a, R> {
    pkt: &'a mut PktReader<R>,
    pos: usize,
    len: usize,
    done: bool,
}

impl<R: Read> ContentReader<'_, R> {
    /// Reads and drops whatever is left of the section, so the protocol
    /// stays in step even when the content is not needed.
    pub fn drain(&mut self) -> io::Result<()> {
        let mut sink = io::sink();
        io::copy(self, &mut sink).map(|_| ())
    }
}

impl<R: Read> Read for ContentReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.len {
            if self.done {
                return Ok(0);
            }
            match self.pkt.read_packet()? {
                None => return Err(io::ErrorKind::UnexpectedEof.into()),
                Some(Packet::Flush) => {
                    self.done = true;
                    return Ok(0);
                }
                Some(Packet::Data(d)) => {
                    self.len = d.len();
                    self.pos = 0;
                }
            }
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.pkt.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Writes packets to Git.
pub struct PktWriter<W: Write> {
    inner: W,
    /// One packet's worth, reused by every [`PktWriter::content_from`].
    buf: Vec<u8>,
}

impl<W: Write> PktWriter<W> {
    /// Wraps a writer (our stdout towards Git).
    pub fn new(inner: W) -> Self {
        PktWriter {
            inner,
            buf: Vec::new(),
        }
    }

    /// Writes one data packet (`data` at most [`MAX_DATA`] bytes).
    pub fn data(&mut self, data: &[u8]) -> io::Result<()> {
        debug_assert!(!data.is_empty() && data.len() <= MAX_DATA);
        write!(self.inner, "{:04x}", data.len() + 4)?;
        self.inner.write_all(data)
    }

    /// Writes one text line (a `\n` is appended).
    pub fn line(&mut self, text: &str) -> io::Result<()> {
        let mut v = Vec::with_capacity(text.len() + 1);
        v.extend_from_slice(text.as_bytes());
        v.push(b'\n');
        self.data(&v)
    }

    /// Writes a flush packet and pushes everything to Git.
    pub fn flush_pkt(&mut self) -> io::Result<()> {
        self.inner.write_all(b"0000")?;
        self.inner.flush()
    }

    /// Writes a flush packet that ends a list inside an answer, leaving it
    /// buffered: Git then gets the whole answer in one write (one wakeup)
    /// when [`PktWriter::flush_pkt`] ends it.
    pub fn end_list(&mut self) -> io::Result<()> {
        self.inner.write_all(b"0000")
    }

    /// Streams `r` as content packets (no flush at the end).
    pub fn content_from(&mut self, r: &mut (impl Read + ?Sized)) -> io::Result<u64> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(MAX_DATA, 0);
        let r = self.content_with(r, &mut buf);
        self.buf = buf;
        r
    }

    fn content_with(&mut self, r: &mut (impl Read + ?Sized), buf: &mut [u8]) -> io::Result<u64> {
        let mut total = 0;
        loop {
            // Fill whole packets: fewer, larger writes.
            let mut filled = 0;
            while filled < MAX_DATA {
                match r.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if filled == 0 {
                return Ok(total);
            }
            self.data(&buf[..filled])?;
            total += filled as u64;
            if filled < MAX_DATA {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_git_framing() {
        let mut out = Vec::new();
        {
            let mut w = PktWriter::new(&mut out);
            w.line("git-filter-server").unwrap();
            w.flush_pkt().unwrap();
            w.content_from(&mut &vec![7u8; MAX_DATA + 10][..]).unwrap();
            w.flush_pkt().unwrap();
        }
        assert!(out.starts_with(b"0016git-filter-server\n0000fff0"));
        let mut r = PktReader::new(&out[..]);
        assert_eq!(r.read_list().unwrap().unwrap(), vec!["git-filter-server"]);
        let mut content = Vec::new();
        r.content().read_to_end(&mut content).unwrap();
        assert_eq!(content, vec![7u8; MAX_DATA + 10]);
        assert!(r.read_packet().unwrap().is_none());
    }

    #[test]
    fn rejects_garbage() {
        assert!(PktReader::new(&b"zzzz"[..]).read_packet().is_err());
        assert!(PktReader::new(&b"0003"[..]).read_packet().is_err());
        assert!(PktReader::new(&b"0010abc"[..]).read_packet().is_err());
        assert!(PktReader::new(&b"00"[..]).read_packet().is_err());
    }
}
