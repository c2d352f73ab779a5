//! Git's long-running filter protocol (`filter.<driver>.process`, version 2).
//!
//! One process serves every file of a Git command, which is what makes
//! thousands of small files cheap. The server answers `clean` and `smudge`;
//! when a [`Fetcher`] is present it also takes the `delay` capability, so a
//! checkout of many missing objects can download them in parallel and hand
//! them to Git as they arrive (`list_available_blobs`).

use std::collections::HashMap;
use std::io::{self, Read, Write};

use super::{Filter, Pathname, Smudged};
use crate::pktline::{MAX_DATA, PktReader, PktWriter};
use crate::pointer::Pointer;
use crate::ui;

pub use crate::transfer::delay::Fetcher;

/// Protocol-level failures: Git sent something we do not understand, or
/// the pipe broke. The process exits; Git reports the filter as failed.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The pipe to or from Git failed.
    #[error("filter protocol I/O: {0}")]
    Io(#[from] io::Error),
    /// Git's welcome or capabilities were not what version 2 requires.
    #[error("unexpected filter handshake from git: {0}")]
    Handshake(String),
}

/// Serves Git on `input`/`output` until Git closes the pipe.
pub fn serve(
    filter: &mut Filter,
    mut fetcher: Option<&mut dyn Fetcher>,
    input: impl Read,
    output: impl Write,
) -> Result<(), ProtocolError> {
    let mut r = PktReader::new(input);
    let mut w = PktWriter::new(output);

    let welcome = r.read_list()?.unwrap_or_default();
    if welcome.first().map(String::as_str) != Some("git-filter-client")
        || !welcome.iter().any(|l| l == "version=2")
    {
        return Err(ProtocolError::Handshake(welcome.join(" ")));
    }
    w.line("git-filter-server")?;
    w.line("version=2")?;
    w.flush_pkt()?;

    let offered = r.read_list()?.unwrap_or_default();
    let offers = |cap: &str| {
        offered
            .iter()
            .any(|l| l.strip_prefix("capability=") == Some(cap))
    };
    if !offers("clean") || !offers("smudge") {
        return Err(ProtocolError::Handshake(offered.join(" ")));
    }
    let can_delay = fetcher.is_some() && offers("delay");
    w.line("capability=clean")?;
    w.line("capability=smudge")?;
    if can_delay {
        w.line("capability=delay")?;
    }
    w.flush_pkt()?;

    // Paths whose smudge was delayed, with their pointers: Git asks for
    // them again with empty content.
    let mut delayed: HashMap<String, Pointer> = HashMap::new();

    while let Some(headers) = r.read_list()? {
        filter.request_seen();
        let mut command = "";
        let mut pathname = "";
        let mut delay_ok = false;
        let mut treeish = None;
        for h in &headers {
            match h.split_once('=') {
                Some(("command", v)) => command = v,
                Some(("pathname", v)) => pathname = v,
                Some(("can-delay", "1")) => delay_ok = true,
                Some(("treeish", v)) => treeish = Some(v),
                _ => {}
            }
        }
        // Checked once, here: whatever Git sent is at most a name.
        let path = Pathname::new(pathname);
        // A delayed path is echoed back in one `pathname=<path>` packet.
        let delay_ok = delay_ok && pathname.len() + "pathname=\n".len() <= MAX_DATA;
        let pathname = path.as_str().to_string();
        match command {
            "clean" => {
                let mut content = r.content();
                let result = filter.clean(&path, &mut content);
                content.drain()?;
                match result {
                    Ok(bytes) => respond(&mut w, &mut &bytes[..])?,
                    Err(e) => {
                        ui::error(&e.to_string());
                        w.line("status=error")?;
                        w.flush_pkt()?;
                    }
                }
            }
            "smudge" => {
                if let Some(pointer) = delayed.remove(&pathname) {
                    // The re-request of a delayed blob carries no content.
                    r.content().drain()?;
                    let out = filter.smudge_pointer(&path, &pointer, true);
                    respond_smudged(&mut w, out)?;
                    continue;
                }
                let mut content = r.content();
                // Git offers to delay only files it checks out into the
                // worktree: those may be written by git-dvc directly.
                let worktree = can_delay && delay_ok;
                let out = filter.smudge(&path, &mut content, worktree);
                content.drain()?;
                let out = match out {
                    Ok(o) => o,
                    Err(e) => {
                        ui::error(&format!("cannot read {pathname} from git: {e}"));
                        w.line("status=error")?;
                        w.flush_pkt()?;
                        continue;
                    }
                };
                // A missing object: fetch it, in the background when Git
                // lets us delay the file, else right now.
                let missing = match (&out, fetcher.as_deref_mut()) {
                    (Smudged::Bytes(b), Some(f)) => Pointer::parse(b)
                        .ok()
                        .filter(|_| filter.take_missing(&pathname))
                        .map(|p| (p, f)),
                    _ => None,
                };
                let out = match missing {
                    Some((p, f)) if can_delay && delay_ok => {
                        if f.enqueue(&pathname, p, treeish) {
                            if filter.writes_worktree() {
                                // Git writes the pointer; git-dvc writes the
                                // content once Git is done with the worktree.
                                filter.await_download(&path, p);
                                respond(&mut w, &mut p.encode().as_bytes())?;
                                continue;
                            }
                            delayed.insert(pathname, p);
                            w.line("status=delayed")?;
                            w.flush_pkt()?;
                            continue;
                        }
                        filter.smudge_pointer(&path, &p, worktree)
                    }
                    Some((p, f)) => {
                        f.fetch_now(&pathname, p, treeish);
                        filter.smudge_pointer(&path, &p, worktree)
                    }
                    None => out,
                };
                respond_smudged(&mut w, out)?;
            }
            "list_available_blobs" => {
                let done = match fetcher.as_deref_mut() {
                    Some(f) if !delayed.is_empty() => f.wait_available(),
                    _ => Vec::new(),
                };
                // Anything the fetcher no longer knows is answered from the
                // cache (or as a pointer) on re-request: list it so Git asks.
                let done = if done.is_empty() {
                    delayed.keys().cloned().collect()
                } else {
                    done
                };
                for p in &done {
                    w.line(&format!("pathname={p}"))?;
                }
                w.flush_pkt()?;
                w.line("status=success")?;
                w.flush_pkt()?;
            }
            other => {
                ui::error(&format!("unknown filter command {other:?} from git"));
                r.content().drain()?;
                w.line("status=error")?;
                w.flush_pkt()?;
            }
        }
    }
    let why = fetcher.and_then(|f| {
        f.wait_all();
        f.finish()
    });
    filter.settle_awaited();
    filter.finish_with(why.as_deref());
    Ok(())
}

/// Answers with `content`: a small answer reaches Git in one write.
fn respond(w: &mut PktWriter<impl Write>, content: &mut dyn Read) -> io::Result<()> {
    w.line("status=success")?;
    w.end_list()?;
    match w.content_from(content) {
        Ok(_) => {
            w.end_list()?;
            w.flush_pkt() // empty list: status stays "success"
        }
        Err(e) => {
            // Half the content went out: tell Git this file failed rather
            // than let it write a truncated file.
            ui::error(&format!("reading cached content failed: {e}"));
            w.end_list()?;
            w.line("status=error")?;
            w.flush_pkt()
        }
    }
}

fn respond_smudged(w: &mut PktWriter<impl Write>, out: Smudged) -> io::Result<()> {
    out.write_to(&mut |r: &mut dyn Read| respond(w, r).map(|_| 0))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The delay state machine, driven with in-memory pkt-lines: Git's side
    //! is written up front, git-dvc's answers are read back packet by
    //! packet.

    use super::*;
    use crate::cache::Cache;
    use crate::oid::Oid;
    use crate::pktline::Packet;

    const DATA: &[u8] = b"the content of a.bin\n";

    fn pointer() -> Pointer {
        Pointer::new(Oid::hash_bytes(DATA), DATA.len() as u64)
    }

    /// A fetcher whose "downloads" put `DATA` into the cache at once.
    struct Fake {
        cache: Cache,
        can_delay: bool,
        queued: Vec<String>,
        fetched_now: Vec<String>,
    }

    impl Fetcher for Fake {
        fn enqueue(&mut self, path: &str, pointer: Pointer, _treeish: Option<&str>) -> bool {
            if !self.can_delay {
                return false;
            }
            self.cache
                .insert_verified(&pointer.oid, &mut &DATA[..])
                .unwrap();
            self.queued.push(path.to_string());
            true
        }

        fn fetch_now(&mut self, path: &str, pointer: Pointer, _treeish: Option<&str>) {
            self.cache
                .insert_verified(&pointer.oid, &mut &DATA[..])
                .unwrap();
            self.fetched_now.push(path.to_string());
        }

        fn wait_available(&mut self) -> Vec<String> {
            std::mem::take(&mut self.queued)
        }
    }

    /// Git's side of a session: the handshake, then `requests` (header
    /// lines and content each).
    fn session(delay: bool, requests: &[(&[&str], &[u8])]) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = PktWriter::new(&mut buf);
        w.line("git-filter-client").unwrap();
        w.line("version=2").unwrap();
        w.flush_pkt().unwrap();
        w.line("capability=clean").unwrap();
        w.line("capability=smudge").unwrap();
        if delay {
            w.line("capability=delay").unwrap();
        }
        w.flush_pkt().unwrap();
        for (headers, content) in requests {
            for h in *headers {
                w.line(h).unwrap();
            }
            w.flush_pkt().unwrap();
            if !headers.contains(&"command=list_available_blobs") {
                if !content.is_empty() {
                    w.data(content).unwrap();
                }
                w.flush_pkt().unwrap();
            }
        }
        buf
    }

    /// git-dvc's answers after the handshake, as lists of text lines and
    /// content (each list ends at a flush).
    fn answers(out: &[u8]) -> Vec<Vec<u8>> {
        let mut r = PktReader::new(out);
        let mut lists = Vec::new();
        let mut cur = Vec::new();
        while let Some(p) = r.read_packet().unwrap() {
            match p {
                Packet::Flush => lists.push(std::mem::take(&mut cur)),
                Packet::Data(d) => cur.extend_from_slice(d),
            }
        }
        lists.drain(..2); // the handshake
        lists
    }

    fn run(delay: bool, fake: &mut Fake, requests: &[(&[&str], &[u8])]) -> Vec<Vec<u8>> {
        let mut filter = Filter::new(fake.cache.clone(), false);
        let mut out = Vec::new();
        serve(
            &mut filter,
            Some(fake),
            &session(delay, requests)[..],
            &mut out,
        )
        .unwrap();
        answers(&out)
    }

    fn fake(can_delay: bool) -> (tempfile::TempDir, Fake) {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        (
            dir,
            Fake {
                cache,
                can_delay,
                queued: Vec::new(),
                fetched_now: Vec::new(),
            },
        )
    }

    /// With a worktree to write, a missing object is not delayed: Git gets
    /// the pointer at once while the object downloads, and the filter is
    /// left to complete the checkout once Git is done.
    #[test]
    fn with_a_worktree_the_pointer_is_answered_at_once_and_the_file_awaited() {
        let (dir, mut fake) = fake(true);
        let text = pointer().encode();
        let smudge: &[&str] = &["command=smudge", "pathname=a.bin", "can-delay=1"];
        let mut filter = Filter::new(fake.cache.clone(), false)
            .with_known(dir.path().to_path_buf(), Box::new(|_: &str| None));
        let mut out = Vec::new();
        let requests: &[(&[&str], &[u8])] = &[(smudge, text.as_bytes())];
        serve(
            &mut filter,
            Some(&mut fake),
            &session(true, requests)[..],
            &mut out,
        )
        .unwrap();
        let expected: Vec<Vec<u8>> =
            vec![b"status=success\n".to_vec(), text.into_bytes(), Vec::new()];
        assert_eq!(answers(&out), expected);
        // Queued (and, by the fake, downloaded at once), not fetched in line.
        assert!(fake.cache.contains(&pointer().oid));
        assert!(fake.fetched_now.is_empty());
        assert!(filter.completes_checkout());
    }

    #[test]
    fn a_missing_object_is_delayed_listed_then_served() {
        let (_dir, mut fake) = fake(true);
        let text = pointer().encode();
        let smudge: &[&str] = &["command=smudge", "pathname=a.bin", "can-delay=1"];
        let again: &[&str] = &["command=smudge", "pathname=a.bin"];
        let list: &[&str] = &["command=list_available_blobs"];
        let got = run(
            true,
            &mut fake,
            &[(smudge, text.as_bytes()), (list, b""), (again, b"")],
        );
        let expected: Vec<Vec<u8>> = vec![
            b"status=delayed\n".to_vec(),
            b"pathname=a.bin\n".to_vec(),
            b"status=success\n".to_vec(),
            b"status=success\n".to_vec(),
            DATA.to_vec(),
            Vec::new(),
        ];
        assert_eq!(got, expected);
        assert!(fake.fetched_now.is_empty());
    }

    #[test]
    fn without_the_delay_capability_the_object_is_fetched_at_once() {
        let (_dir, mut fake) = fake(true);
        let text = pointer().encode();
        let smudge: &[&str] = &["command=smudge", "pathname=a.bin", "can-delay=1"];
        let got = run(false, &mut fake, &[(smudge, text.as_bytes())]);
        let expected: Vec<Vec<u8>> = vec![b"status=success\n".to_vec(), DATA.to_vec(), Vec::new()];
        assert_eq!(got, expected);
        assert_eq!(fake.fetched_now, ["a.bin"]);
    }

    #[test]
    fn when_nothing_can_fetch_the_pointer_stays() {
        let (_dir, mut fake) = fake(false);
        let text = pointer().encode();
        let smudge: &[&str] = &["command=smudge", "pathname=a.bin", "can-delay=1"];
        let got = run(true, &mut fake, &[(smudge, text.as_bytes())]);
        let expected: Vec<Vec<u8>> =
            vec![b"status=success\n".to_vec(), text.into_bytes(), Vec::new()];
        assert_eq!(got, expected);
    }
}
