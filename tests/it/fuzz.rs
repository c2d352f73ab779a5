//! Fuzzing by property tests: whatever bytes reach the pkt-line reader, the
//! pointer parser or the filter's request loop, nothing panics.
//!
//! The default `cargo test` runs a short pass (a few seconds), which is the
//! run CI makes. For a long run, set `PROPTEST_CASES`:
//!
//! ```sh
//! PROPTEST_CASES=200000 cargo test --release --locked --test it fuzz_
//! ```
//!
//! Inputs are mostly well-formed Git sessions (handshake, then clean,
//! smudge and `list_available_blobs` requests with awkward pathnames and
//! contents), then mutated byte by byte, so the loop is reached deep, not
//! just refused at the handshake.

use std::io::Read;

use git_dvc::cache::Cache;
use git_dvc::filter::Filter;
use git_dvc::filter::process::{Fetcher, serve};
use git_dvc::pktline::{MAX_DATA, Packet, PktReader};
use git_dvc::pointer::Pointer;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Cases per property: `PROPTEST_CASES`, else a count that keeps the
/// default suite fast.
fn config(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn pkt(out: &mut Vec<u8>, payload: &[u8]) {
    let payload = &payload[..payload.len().min(MAX_DATA)];
    if payload.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:04x}", payload.len() + 4).as_bytes());
    out.extend_from_slice(payload);
}

fn line(out: &mut Vec<u8>, text: &str) {
    pkt(out, format!("{text}\n").as_bytes());
}

fn flush(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0000");
}

fn handshake(out: &mut Vec<u8>) {
    line(out, "git-filter-client");
    line(out, "version=2");
    flush(out);
    line(out, "capability=clean");
    line(out, "capability=smudge");
    line(out, "capability=delay");
    flush(out);
}

/// A pointer to `KNOWN`, which the test cache holds, and one to nothing.
const KNOWN: &[u8] = b"known content\n";

fn known_pointer() -> String {
    let (oid, size) = git_dvc::oid::Oid::hash_reader(KNOWN).unwrap();
    Pointer::new(oid, size).encode()
}

fn pathname() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("/tmp/x.bin".to_string()),
        Just("../x.bin".to_string()),
        Just("a/../../x.bin".to_string()),
        Just("./a.bin".to_string()),
        Just("a//b.bin".to_string()),
        Just(".git/config".to_string()),
        Just("a\0b".to_string()),
        Just("a.bin".to_string()),
        Just("dir/b.bin".to_string()),
        Just("x".repeat(MAX_DATA - 9)),
        "[a-z./\\\\]{0,12}",
        any::<String>(),
    ]
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(KNOWN.to_vec()),
        Just(known_pointer().into_bytes()),
        Just(
            Pointer::new(git_dvc::oid::Oid::from_hex(&"ab".repeat(32)).unwrap(), 7)
                .encode()
                .into_bytes()
        ),
        Just(b"version = \"git-dvc/1\"\noid = \"sha256:zz\"\nsize = 1\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::collection::vec(any::<u8>(), MAX_DATA - 2..MAX_DATA + 3),
    ]
}

#[derive(Debug, Clone)]
struct Request {
    command: String,
    pathname: String,
    extra: Vec<String>,
    content: Vec<u8>,
    split: usize,
}

fn request() -> impl Strategy<Value = Request> {
    let command = prop_oneof![
        4 => Just("clean".to_string()),
        4 => Just("smudge".to_string()),
        2 => Just("list_available_blobs".to_string()),
        1 => "[a-z_]{0,8}",
    ];
    let extra = proptest::collection::vec(
        prop_oneof![
            Just("can-delay=1".to_string()),
            Just("treeish=HEAD".to_string()),
            Just("treeish=".to_string()),
            Just("ref=refs/heads/main".to_string()),
            Just("pathname=second".to_string()),
            "[a-z=-]{0,10}",
        ],
        0..3,
    );
    (command, pathname(), extra, content(), 1usize..70_000).prop_map(
        |(command, pathname, extra, content, split)| Request {
            command,
            pathname,
            extra,
            content,
            split,
        },
    )
}

fn session(requests: &[Request]) -> Vec<u8> {
    let mut out = Vec::new();
    handshake(&mut out);
    for r in requests {
        line(&mut out, &format!("command={}", r.command));
        line(&mut out, &format!("pathname={}", r.pathname));
        for e in &r.extra {
            line(&mut out, e);
        }
        flush(&mut out);
        if r.command != "list_available_blobs" {
            for chunk in r.content.chunks(r.split.clamp(1, MAX_DATA)) {
                pkt(&mut out, chunk);
            }
            flush(&mut out);
        }
    }
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let n = bytes.len();
        match *m {
            Mutation::Flip(i, b) => bytes[i % n] = b,
            Mutation::Insert(i, b) => bytes.insert(i % (n + 1), b),
            Mutation::Delete(i) => {
                bytes.remove(i % n);
            }
            Mutation::Truncate(i) => bytes.truncate(i % n),
        }
    }
    bytes
}

/// A fetcher that queues every other request and reports them done in
/// batches, so the delay paths run too. It never downloads anything.
#[derive(Default)]
struct FakeFetcher {
    queued: Vec<String>,
    flip: bool,
}

impl Fetcher for FakeFetcher {
    fn enqueue(&mut self, path: &str, _: Pointer, _: Option<&str>) -> bool {
        self.flip = !self.flip;
        if self.flip {
            self.queued.push(path.to_string());
        }
        self.flip
    }
    fn fetch_now(&mut self, _: &str, _: Pointer, _: Option<&str>) {}
    fn wait_available(&mut self) -> Vec<String> {
        let n = self.queued.len().min(2);
        self.queued.drain(..n).collect()
    }
}

/// True for a path that stays inside the worktree, checked here
/// independently of the filter's own check.
fn inside(path: &str) -> bool {
    let p = std::path::Path::new(path);
    !path.is_empty()
        && !path.contains('\0')
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// A filter on a temp cache holding `KNOWN`, with a worktree where `a.bin`
/// has KNOWN's size and the index lookup says every path held KNOWN. The
/// lookup fails the test when asked about a path outside the worktree.
fn filter(dir: &std::path::Path) -> Filter {
    let cache = Cache::new(dir.join("cache"));
    cache.insert_reader(&mut &KNOWN[..]).unwrap();
    let root = dir.join("worktree");
    std::fs::create_dir_all(root.join("dir")).unwrap();
    std::fs::write(root.join("a.bin"), b"other content\n").unwrap();
    std::fs::write(root.join("dir/b.bin"), KNOWN).unwrap();
    let known = Pointer::parse(known_pointer().as_bytes()).unwrap();
    Filter::new(cache, false).with_known(
        root,
        Box::new(move |path| {
            assert!(
                inside(path),
                "looked up {path:?}, which is not in the worktree"
            );
            Some(known)
        }),
    )
}

fn run_session(input: &[u8], with_fetcher: bool) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().unwrap();
    let mut f = filter(dir.path());
    let mut fetcher = FakeFetcher::default();
    let fetcher: Option<&mut dyn Fetcher> = if with_fetcher {
        Some(&mut fetcher)
    } else {
        None
    };
    let mut out = Vec::new();
    serve(&mut f, fetcher, input, &mut out)
        .map(|()| out)
        .map_err(|e| e.to_string())
}

/// Whatever Git's reader would make of our answers: it must be pkt-lines.
fn well_framed(mut out: &[u8]) -> bool {
    let mut r = PktReader::new(&mut out);
    loop {
        match r.read_packet() {
            Ok(None) => return true,
            Ok(Some(_)) => {}
            Err(_) => return false,
        }
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Well-formed sessions with any pathnames and contents: served to the
    /// end, answers well framed.
    #[test]
    fn fuzz_filter_sessions(requests in proptest::collection::vec(request(), 0..6), fetch in any::<bool>()) {
        let input = session(&requests);
        let out = run_session(&input, fetch);
        prop_assert!(out.is_ok(), "{:?}", out.err());
        prop_assert!(well_framed(&out.unwrap()));
    }

    /// The same sessions, damaged: an error is fine, a panic is not.
    #[test]
    fn fuzz_filter_mutated_sessions(
        requests in proptest::collection::vec(request(), 0..4),
        mutations in proptest::collection::vec(mutation(), 1..6),
        fetch in any::<bool>(),
    ) {
        let input = mutate(session(&requests), &mutations);
        let _ = run_session(&input, fetch);
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Random bytes and damaged packets through every reader entry point.
    #[test]
    fn fuzz_pktline_reader(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            proptest::collection::vec(
                prop_oneof![Just(b"0000".to_vec()), Just(b"0004".to_vec()), Just(b"0005a".to_vec()),
                    Just(b"fff0".to_vec()), Just(b"fff1".to_vec()), Just(b"ffff".to_vec()),
                    Just(b"000a\xff\xfe\n".to_vec()), Just(b"0009abcd\n".to_vec()),
                    proptest::collection::vec(any::<u8>(), 0..8)],
                0..12,
            ).prop_map(|v| v.concat()),
        ],
        how in 0u8..3,
    ) {
        let mut r = PktReader::new(&bytes[..]);
        for _ in 0..64 {
            let more = match how {
                0 => matches!(r.read_packet(), Ok(Some(Packet::Data(_) | Packet::Flush))),
                1 => matches!(r.read_list(), Ok(Some(_))),
                _ => {
                    let mut sink = Vec::new();
                    r.content().read_to_end(&mut sink).is_ok() && r.read_packet().is_ok()
                }
            };
            if !more {
                break;
            }
        }
    }

    /// The pointer parser on bytes near and far from a pointer: no panic,
    /// and whatever it accepts is the one canonical spelling.
    #[test]
    fn fuzz_pointer_parser(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..260),
            (proptest::collection::vec(any::<u8>(), 0..120)).prop_map(|tail| {
                let mut v = b"version = \"git-dvc/1\"\noid = \"sha256:".to_vec();
                v.extend(tail);
                v
            }),
            (proptest::collection::vec(mutation(), 1..4)).prop_map(|m| mutate(known_pointer().into_bytes(), &m)),
        ],
    ) {
        if let Ok(p) = Pointer::parse(&bytes) {
            prop_assert_eq!(p.encode().into_bytes(), bytes);
        }
    }
}

/// The inputs that made the filter panic before pathnames were checked at
/// entry, kept as fixed cases.
#[test]
fn fuzz_regressions_unsafe_pathnames() {
    for path in [
        "",
        "/tmp/x.bin",
        "../x.bin",
        "a/../../x.bin",
        "a\0b",
        ".git/x",
    ] {
        let req = Request {
            command: "clean".into(),
            pathname: path.into(),
            extra: vec![],
            content: b"other content\n".to_vec(),
            split: 5,
        };
        let out = run_session(&session(&[req]), true).unwrap();
        assert!(well_framed(&out), "{path:?}");
        assert!(
            out.windows(15).any(|w| w == b"status=success\n"),
            "{path:?}: {}",
            String::from_utf8_lossy(&out)
        );
    }
}

/// A delayed smudge is listed back as one `pathname=<path>` packet, so a
/// pathname too long for that is answered at once, never delayed.
#[test]
fn fuzz_regressions_longest_pathname_is_not_delayed() {
    let missing = Pointer::new(git_dvc::oid::Oid::from_hex(&"ab".repeat(32)).unwrap(), 7);
    let long = "x".repeat(MAX_DATA - "pathname=".len());
    let smudge = Request {
        command: "smudge".into(),
        pathname: long.clone(),
        extra: vec!["can-delay=1".into()],
        content: missing.encode().into_bytes(),
        split: 1000,
    };
    let list = Request {
        command: "list_available_blobs".into(),
        pathname: String::new(),
        extra: vec![],
        content: vec![],
        split: 1,
    };
    let out = run_session(&session(&[smudge, list]), true).unwrap();
    assert!(well_framed(&out));
    assert!(!out.windows(14).any(|w| w == b"status=delayed"));
}
