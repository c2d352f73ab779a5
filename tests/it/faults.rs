//! A flaky network: servers that answer a fraction of requests with a 500,
//! a reset connection, a body cut half way or a slow answer. Push, fetch and
//! a fresh clone still finish with every object correct, and a remote that
//! serves wrong bytes is refused without anything being stored.

use std::fs;
use std::sync::atomic::Ordering;

use crate::harness::{Env, Repo, data, sha256};
use crate::servers::{Flaky, HttpServer, S3_SECRET, S3Server, walk};

/// Files of a repository: many small objects and one that moves in three
/// parts (see [`parts_of_5_mib`]).
fn dataset() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = (0..24)
        .map(|i| {
            (
                format!("data/{i:02}.bin"),
                data(300 + i, 10_000 + 97 * i as usize),
            )
        })
        .collect();
    files.push(("data/big.bin".into(), data(399, (11 << 20) + 4321)));
    files
}

/// Parts of 5 MiB (S3's smallest), so the big object is split.
fn parts_of_5_mib(env: &Env) {
    env.user_config("[transfer]\npart_size = \"5MiB\"\n");
}

fn committed<'e>(env: &'e Env, url: &str, extra: &[&str]) -> Repo<'e> {
    parts_of_5_mib(env);
    let r = env.repo("origin");
    r.dvc(["track", "data/**"]);
    for (path, bytes) in dataset() {
        r.write(&path, &bytes);
    }
    let mut args = vec!["remote", "add", "-d", "storage", url];
    args.extend_from_slice(extra);
    r.dvc(args);
    r.commit_all("dataset");
    r
}

fn kinds(f: &Flaky) -> Vec<&'static str> {
    let mut k = f.injected.lock().unwrap().clone();
    k.sort_unstable();
    k.dedup();
    k
}

fn every_byte_in(r: &Repo<'_>) {
    for (path, bytes) in dataset() {
        assert!(r.read(&path) == bytes, "{path} differs");
    }
    assert_eq!(r.status(), "");
}

/// Push, fetch into an empty cache and a fresh clone, each through the
/// flaky network, and each complete and byte for byte.
fn survive(env: &Env, origin: &Repo<'_>, flaky: &Flaky) {
    flaky.every.store(3, Ordering::SeqCst);
    let out = origin.dvc_run(["push"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (0, "Uploaded 25 objects (11.3 MiB) to 'storage'.\n")
    );
    fs::remove_dir_all(origin.cache()).unwrap();
    let out = origin.dvc_run(["fetch"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (0, "Downloaded 25 objects (11.3 MiB) from 'storage'.\n")
    );
    let out = env.run(env.root(), "git", ["clone", "-q", "origin", "fresh"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    every_byte_in(&env.at(env.root().join("fresh")));
    assert_eq!(kinds(flaky), ["500", "cut body", "reset", "slow"]);
    assert!(
        flaky.on_parts.load(Ordering::SeqCst) > 0,
        "parts were hit too"
    );
}

#[test]
fn push_fetch_and_clone_survive_a_flaky_http_remote() {
    let env = Env::new();
    let store = env.root().join("store");
    let http = HttpServer::start(&store);
    let origin = committed(&env, &http.url, &[]);
    survive(&env, &origin, &http.faults.flaky);
    assert!(http.faults.ranged.load(Ordering::SeqCst) >= 6);
}

#[test]
fn push_fetch_and_clone_survive_a_flaky_s3_remote() {
    let env = Env::new();
    let s3 = S3Server::start(&env.root().join("s3"), "bucket");
    env.s3_credentials(S3_SECRET);
    let origin = committed(&env, "s3://bucket/ds", &["--endpoint", &s3.endpoint]);
    survive(&env, &origin, &s3.flaky);
    assert_eq!(s3.objects("bucket/ds").len(), 25);
    assert!(s3.faults.part_uploads.load(Ordering::SeqCst) >= 3);
    assert!(s3.faults.ranged_gets.load(Ordering::SeqCst) >= 6);
}

/// An S3 store whose copy of an object rotted: a fetch refuses it, names
/// the object and the remote, and stores nothing; nor does a clone.
#[test]
fn an_s3_remote_serving_wrong_bytes_is_refused_and_nothing_is_stored() {
    let env = Env::new();
    let s3 = S3Server::start(&env.root().join("s3"), "bucket");
    env.s3_credentials(S3_SECRET);
    let origin = committed(&env, "s3://bucket/ds", &["--endpoint", &s3.endpoint]);
    origin.dvc(["push"]);
    let (path, bytes) = &dataset()[3];
    let oid = sha256(bytes);
    let stored = s3.root.join("bucket/ds").join(&oid[..2]).join(&oid[2..]);
    let mut rotten = fs::read(&stored).unwrap();
    rotten[100] ^= 0x01;
    fs::write(&stored, &rotten).unwrap();

    fs::remove_dir_all(origin.cache()).unwrap();
    let out = origin.dvc_run(["fetch"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: remote 'storage' served wrong content for object {oid} (it hashed to {}); nothing was stored ({path})\nDownloaded 24 objects (11.2 MiB) from 'storage'.\ngit-dvc: error: 1 of 25 objects failed to transfer (remote 'storage')\n",
            sha256(&rotten)
        )
    );
    let mut cached = Vec::new();
    walk(&origin.cache(), &origin.cache(), &mut cached);
    assert_eq!(cached.len(), 24, "{cached:?}");
    assert!(!cached.iter().any(|c| c.contains(&oid[2..])), "{cached:?}");
}

/// A remote whose copy of an object has another size than its pointer says
/// (it grew on the server, or the answer would never end): the first answer
/// that announces it is refused, without retries, before a byte is
/// written. Over HTTP, a small object and a big one cost one GET each; a
/// directory's file is refused on its size alone.
#[test]
fn an_answer_of_the_wrong_size_is_refused_before_it_is_written() {
    let env = Env::new();
    let store = env.root().join("store");
    let http = HttpServer::start(&store);
    let origin = committed(&env, &http.url, &[]);
    origin.dvc(["push"]);
    origin.dvc(["remote", "add", "plain", store.to_str().unwrap()]);
    let files = dataset();
    let mut grown = Vec::new();
    for (path, bytes) in [&files[3], &files[24]] {
        let oid = sha256(bytes);
        let stored = store.join(&oid[..2]).join(&oid[2..]);
        let mut more = fs::read(&stored).unwrap();
        more.extend(data(7, 1 << 20));
        fs::write(&stored, &more).unwrap();
        grown.push(format!(
            "answered {} bytes for object {oid} of {}; nothing was stored ({path})",
            more.len(),
            bytes.len()
        ));
    }
    for remote in ["storage", "plain"] {
        fs::remove_dir_all(origin.cache()).unwrap();
        http.faults.gets.store(0, Ordering::SeqCst);
        let out = origin.dvc_run(["fetch", remote]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let (mut refused, rest): (Vec<&str>, Vec<&str>) =
            out.stderr.lines().partition(|l| l.contains(" answered "));
        refused.sort_unstable();
        let want: Vec<String> = grown
            .iter()
            .map(|g| format!("git-dvc: error: remote '{remote}' {g}"))
            .collect();
        assert_eq!(refused, want);
        assert_eq!(
            rest,
            [
                format!("Downloaded 23 objects (250.5 KiB) from '{remote}'."),
                format!("git-dvc: error: 2 of 25 objects failed to transfer (remote '{remote}')"),
            ]
        );
        let mut cached = Vec::new();
        walk(&origin.cache(), &origin.cache(), &mut cached);
        assert_eq!(
            cached.len(),
            23,
            "nothing else, not even a temp: {cached:?}"
        );
        // Over HTTP: one GET for each object, the two refused included.
        let gets = if remote == "storage" { 25 } else { 0 };
        assert_eq!(http.faults.gets.load(Ordering::SeqCst), gets);
    }
}
