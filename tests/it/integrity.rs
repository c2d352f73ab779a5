//! Corruption never spreads: a cache object whose bytes no longer match its
//! id (one flipped byte, size unchanged) is caught on every path that reads
//! it out — checkout through Git, `git dvc checkout`, push — quarantined,
//! and never written, uploaded or staged.

use std::fs;
use std::path::Path;

use crate::harness::{Env, Repo, data, flip_byte, pointer_for, sha256};

/// A repo with one committed tracked file and the hex of its object.
fn one_file(env: &Env, len: usize) -> (Repo<'_>, Vec<u8>, String) {
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let content = data(7, len);
    r.write("f.bin", &content);
    r.commit_all("v1");
    let hex = sha256(&content);
    (r, content, hex)
}

fn corrupt_hash(r: &Repo<'_>, hex: &str) -> String {
    sha256(&fs::read(r.object(hex)).unwrap())
}

fn corrupt_message(r: &Repo<'_>, hex: &str, actual: &str, file: &str) -> String {
    let q = r.path.join(".git/dvc/cache/quarantine").join(hex);
    format!(
        "git-dvc: error: cached object {hex} is corrupt (its content hashes to {actual}); moved to {} ({file})\n",
        q.display()
    )
}

/// `git checkout` of a file whose object is corrupt: the corrupt bytes
/// never reach the worktree, the object is quarantined, one error names the
/// file and the object, and the file keeps its pointer for `git dvc pull`.
#[test]
fn git_checkout_never_writes_a_corrupt_object() {
    for len in [3000, 6 << 20] {
        let env = Env::new();
        let (r, content, hex) = one_file(&env, len);
        flip_byte(&r.object(&hex));
        let actual = corrupt_hash(&r, &hex);
        fs::remove_file(r.path.join("f.bin")).unwrap();
        let out = r.git_run(["checkout", "--", "f.bin"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            out.stderr,
            format!(
                "{}git-dvc: warning: 1 file (f.bin) left as pointers: their objects are not in the cache; run `git dvc pull` to fetch them\n",
                corrupt_message(&r, &hex, &actual, "f.bin")
            ),
            "size {len}"
        );
        assert_eq!(r.read("f.bin"), pointer_for(&content).as_bytes());
        assert!(
            !r.object(&hex).exists(),
            "the corrupt object left the cache"
        );
        let q = r.path.join(".git/dvc/cache/quarantine").join(&hex);
        assert_eq!(
            sha256(&fs::read(&q).unwrap()),
            actual,
            "kept for inspection"
        );
        assert_eq!(r.status(), "");
        assert_eq!(r.git(["diff", "--cached", "--name-only"]), "");
    }
}

/// With a remote holding a good copy, the checkout heals by itself: the
/// corrupt object is quarantined and the good one downloaded in its place.
#[test]
fn checkout_replaces_a_corrupt_object_from_the_remote() {
    let env = Env::new();
    let (r, content, hex) = one_file(&env, 50_000);
    let store = env.root().join("store");
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("remote");
    r.dvc(["push"]);
    flip_byte(&r.object(&hex));
    fs::remove_file(r.path.join("f.bin")).unwrap();
    let out = r.git_run(["checkout", "--", "f.bin"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with(&format!("git-dvc: error: cached object {hex} is corrupt")),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert_eq!(r.read("f.bin"), content);
    assert_eq!(sha256(&fs::read(r.object(&hex)).unwrap()), hex);
    assert_eq!(r.status(), "");
}

/// `git dvc checkout` fails that file, names it and the object, leaves the
/// pointer, and stages nothing.
#[test]
fn dvc_checkout_fails_a_corrupt_file_and_stages_nothing() {
    let env = Env::new();
    let (r, content, hex) = one_file(&env, 3000);
    r.write("g.bin", data(8, 2000));
    r.commit_all("g");
    // Pointers in the worktree, as Git leaves them when smudging is off.
    fs::remove_file(r.path.join("f.bin")).unwrap();
    fs::remove_file(r.path.join("g.bin")).unwrap();
    env.set_env("GIT_DVC_SKIP_SMUDGE", "1");
    r.git(["checkout", "--", "."]);
    env.set_env("GIT_DVC_SKIP_SMUDGE", "0");
    assert_eq!(r.read("f.bin"), pointer_for(&content).as_bytes());
    flip_byte(&r.object(&hex));
    let actual = corrupt_hash(&r, &hex);
    let out = r.dvc_run(["checkout"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "Checked out 1 file.\n{}",
            corrupt_message(&r, &hex, &actual, "f.bin")
        )
    );
    assert_eq!(r.read("f.bin"), pointer_for(&content).as_bytes());
    assert_eq!(r.read("g.bin"), data(8, 2000));
    assert_eq!(r.git(["diff", "--cached", "--name-only"]), "");
    assert_eq!(r.status(), "", "nothing staged, nothing modified");
    r.git(["commit", "-q", "--allow-empty", "-m", "after"]);
    assert_eq!(
        r.git(["show", "HEAD~0:f.bin"]),
        pointer_for(&content),
        "the next commit records the good pointer"
    );
}

/// `git dvc push` refuses to upload a corrupt object under its good name,
/// and a remote object of the wrong size is not "already there".
#[test]
fn push_never_uploads_corruption_and_repairs_a_truncated_remote_object() {
    let env = Env::new();
    let (r, content, hex) = one_file(&env, 40_000);
    let store = env.root().join("store");
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("remote");
    let good = fs::read(r.object(&hex)).unwrap();
    flip_byte(&r.object(&hex));
    let actual = corrupt_hash(&r, &hex);
    let out = r.dvc_run(["push"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "{}git-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')\n",
            corrupt_message(&r, &hex, &actual, "f.bin")
        )
    );
    let remote_obj = store.join(&hex[..2]).join(&hex[2..]);
    assert!(!remote_obj.exists(), "nothing uploaded");

    // The good copy comes back (from a backup, say); the remote holds a
    // truncated object from an older, broken tool.
    let obj = r.object(&hex);
    fs::write(&obj, &good).unwrap();
    fs::create_dir_all(remote_obj.parent().unwrap()).unwrap();
    fs::write(&remote_obj, &good[..1000]).unwrap();
    let out = r.dvc(["push"]);
    assert_eq!(out.stderr, "Uploaded 1 object (39.1 KiB) to 'storage'.\n");
    assert_eq!(fs::read(&remote_obj).unwrap(), content);
}

fn temps(dir: &Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A killed `git add` (the clean filter, SIGKILLed mid-file) leaves its
/// temp file; gc keeps the temp file of a writer still running and removes
/// the killed one's.
#[test]
fn gc_removes_temp_files_of_killed_writers_only() {
    use std::io::Write;
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.commit_all("track");
    let tmp = r.cache().join("tmp");
    let mut child = env
        .cmd(&r.path, "git-dvc")
        .args(["clean", "big.bin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&data(3, 1 << 20)).unwrap();
    stdin.flush().unwrap();
    let started = std::time::Instant::now();
    while !temps(&tmp, "incoming-")
        .first()
        .is_some_and(|p| fs::metadata(p).is_ok_and(|m| m.len() == 1 << 20))
    {
        assert!(started.elapsed().as_secs() < 20, "the writer never wrote");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = r.dvc(["gc"]);
    assert_eq!(out.stderr, "Removed 0 objects (0 B) from the cache.\n");
    assert_eq!(
        temps(&tmp, "incoming-").len(),
        1,
        "a running writer's file stays"
    );

    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    assert_eq!(
        temps(&tmp, "incoming-").len(),
        1,
        "the killed writer left it"
    );
    let out = r.dvc(["gc"]);
    assert_eq!(
        out.stderr,
        "Removed 0 objects (0 B) from the cache.\nRemoved 1 temp file (1.0 MiB) left by interrupted commands from the cache.\n"
    );
    assert!(temps(&tmp, "incoming-").is_empty());
}

/// A killed push leaves `.incoming-*` on a directory remote; `gc --remote`
/// removes it and keeps every object.
#[test]
fn gc_remote_removes_interrupted_uploads() {
    let env = Env::new();
    let (r, content, hex) = one_file(&env, 5000);
    let store = env.root().join("store");
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("remote");
    r.dvc(["push"]);
    let dir = store.join(&hex[..2]);
    fs::write(dir.join(".incoming-Ab12Cd"), data(9, 2048)).unwrap();
    let out = r.dvc(["gc", "--remote", "storage"]);
    assert_eq!(
        out.stderr,
        "Removed 0 objects from remote 'storage'.\nRemoved 1 temp file (2.0 KiB) left by interrupted commands from remote 'storage'.\n"
    );
    assert!(temps(&dir, ".incoming-").is_empty());
    assert_eq!(fs::read(dir.join(&hex[2..])).unwrap(), content);
}

/// Import checks what it copies out of the cache: a corrupt cached object
/// fails the import (nothing written), is quarantined, and the next import
/// downloads a good copy. Small objects are copied through a buffer, big
/// ones by the kernel beside a hashing thread; both are checked. (`git dvc
/// get` copies only what it downloaded and verified just now, into a
/// scratch cache.)
#[test]
fn import_never_writes_a_corrupt_cached_object() {
    for len in [30_000, 9 << 20] {
        let env = Env::new();
        let src = env.repo("src");
        src.dvc(["track", "*.bin"]);
        let store = env.root().join("store");
        src.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
        let content = data(11, len);
        src.write("d.bin", &content);
        src.commit_all("data");
        src.dvc(["push"]);
        let consumer = env.repo("c");
        let url = src.path.to_str().unwrap();
        consumer.dvc(["import", url, "d.bin", "-o", "x.bin"]);
        assert_eq!(consumer.read("x.bin"), content);
        let hex = sha256(&content);
        flip_byte(&consumer.object(&hex));
        let actual = corrupt_hash(&consumer, &hex);
        let out = consumer.dvc_run(["import", url, "d.bin", "-o", "y.bin"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let q = consumer.cache().join("quarantine").join(&hex);
        assert_eq!(
            out.stderr,
            format!(
                "git-dvc: error: cached object {hex} is corrupt (its content hashes to {actual}); moved to {}\n",
                q.display()
            )
        );
        assert!(!consumer.path.join("y.bin").exists(), "nothing written");
        assert_eq!(
            temps_below(&consumer.path),
            Vec::<std::path::PathBuf>::new()
        );
        consumer.dvc(["import", url, "d.bin", "-o", "y.bin"]);
        assert_eq!(consumer.read("y.bin"), content);
    }
}

/// Big objects move between the cache and a directory remote by the
/// kernel, checked by a second thread as they go: a corrupt cache object is
/// never uploaded, a corrupt remote object never enters the cache, and no
/// temp file is left on either side.
#[test]
fn big_objects_to_and_from_a_directory_never_spread_corruption() {
    let env = Env::new();
    let (r, content, hex) = one_file(&env, (6 << 20) + 7);
    let store = env.root().join("store");
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("remote");
    let good = fs::read(r.object(&hex)).unwrap();
    flip_byte(&r.object(&hex));
    let actual = corrupt_hash(&r, &hex);
    let out = r.dvc_run(["push"]);
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "{}git-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')\n",
                corrupt_message(&r, &hex, &actual, "f.bin")
            )
        )
    );
    let remote_obj = store.join(&hex[..2]).join(&hex[2..]);
    assert!(!remote_obj.exists(), "nothing uploaded");
    assert_eq!(temps_below(&store), Vec::<std::path::PathBuf>::new());

    fs::write(r.object(&hex), &good).unwrap();
    let out = r.dvc(["push"]);
    assert_eq!(out.stderr, "Uploaded 1 object (6.0 MiB) to 'storage'.\n");
    assert!(fs::read(&remote_obj).unwrap() == content);

    // The remote's copy rots; the cache is dropped and fetched again.
    flip_byte(&remote_obj);
    let rotten = sha256(&fs::read(&remote_obj).unwrap());
    fs::remove_dir_all(r.cache()).unwrap();
    let out = r.dvc_run(["fetch"]);
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "git-dvc: error: remote 'storage' served wrong content for object {hex} (it hashed to {rotten}); nothing was stored (f.bin)\ngit-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')\n"
            )
        )
    );
    assert!(!r.object(&hex).exists());
    assert_eq!(temps_below(&r.cache()), Vec::<std::path::PathBuf>::new());
}

/// Every temp file anywhere below `dir`.
fn temps_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(temps_below(&p));
        } else if e.file_name().to_string_lossy().contains("incoming-") {
            out.push(p);
        }
    }
    out
}
