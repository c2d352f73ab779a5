//! Bad input never panics and never puts wrong bytes in the worktree:
//! malformed pointers, missing or damaged cache objects.

use std::fs;

use crate::harness::{Env, data, pointer_for, sha256};

/// A missing object: the checkout succeeds, the file holds its pointer, one
/// warning for the whole checkout, and `git dvc checkout` finishes later.
#[test]
fn missing_objects_leave_pointers_with_one_warning() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let files: Vec<Vec<u8>> = (0..7).map(|i| data(100 + i, 3000)).collect();
    for (i, f) in files.iter().enumerate() {
        r.write(&format!("f{i}.bin"), f);
    }
    r.commit_all("v1");
    let cache_backup = env.root().join("cache-backup");
    fs::rename(r.cache(), &cache_backup).unwrap();
    for i in 0..7 {
        fs::remove_file(r.path.join(format!("f{i}.bin"))).unwrap();
    }
    let out = r.git_run(["checkout", "--", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "git-dvc: warning: 7 files (f0.bin, f1.bin, f2.bin, f3.bin, f4.bin, and 2 more) left as pointers: their objects are not in the cache; run `git dvc pull` to fetch them\n"
    );
    assert_eq!(r.read("f3.bin"), pointer_for(&files[3]).as_bytes());
    assert_eq!(r.status(), "", "a pointer in the worktree is not a change");
    let ls = r.dvc(["ls-files"]).stdout;
    assert!(
        ls.contains(&format!(
            "{} - f3.bin (2.9 KiB)\n",
            &sha256(&files[3])[..10]
        )),
        "{ls}"
    );

    let st = r.dvc(["status"]).stdout;
    assert!(
        st.starts_with("Not in cache (run `git dvc pull`):\n\tf0.bin\n"),
        "{st}"
    );

    // The objects come back (as `git dvc fetch` would bring them).
    fs::rename(&cache_backup, r.cache()).unwrap();
    let out = r.dvc(["checkout"]);
    assert_eq!(out.stderr, "Checked out 7 files.\n");
    for (i, f) in files.iter().enumerate() {
        assert_eq!(&r.read(&format!("f{i}.bin")), f);
    }
    assert_eq!(r.status(), "");
    assert_eq!(r.dvc(["status"]).stdout, "Everything is up to date.\n");
}

/// The post-checkout hook materializes pointers whose objects are cached
/// now, even for files the checkout itself did not touch.
#[test]
fn post_checkout_hook_fills_in_what_arrived() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["install", "--local"]);
    r.dvc(["track", "*.bin"]);
    let v = data(7, 9000);
    r.write("a.bin", &v);
    r.write("other.txt", "1\n");
    r.commit_all("v1");
    r.git(["branch", "b"]);
    let oid = sha256(&v);
    let obj = r.object(&oid);
    let saved = env.root().join("saved");
    fs::rename(&obj, &saved).unwrap();
    fs::remove_file(r.path.join("a.bin")).unwrap();
    r.git_run(["checkout", "--", "a.bin"]);
    assert_eq!(r.read("a.bin"), pointer_for(&v).as_bytes());
    fs::rename(&saved, &obj).unwrap();
    r.git(["checkout", "-q", "b"]);
    assert_eq!(r.read("a.bin"), v);
    assert_eq!(r.status(), "");
}

/// A hand-written, malformed pointer is content to Git: checkout leaves it
/// as it is and says so once.
#[test]
fn malformed_pointer_committed_by_hand() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.commit_all_allow_empty();
    // Commit the bad pointer bypassing the filter.
    let bad = "version = \"git-dvc/1\"\noid = \"sha256:XYZ\"\nsize = 3\n";
    let blob = r
        .env
        .cmd(&r.path, "git")
        .args(["hash-object", "-w", "--no-filters", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bad.as_bytes()).unwrap();
            c.wait_with_output().unwrap()
        })
        .unwrap();
    let blob = String::from_utf8(blob.stdout).unwrap();
    r.git([
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{},bad.bin", blob.trim()),
    ]);
    r.git(["commit", "-q", "-m", "bad"]);
    let out = r.git_run(["checkout", "--", "bad.bin"]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stderr,
        "git-dvc: warning: malformed git-dvc pointers left as they are in 1 file (bad.bin); commit the real content again to repair them\n"
    );
    assert_eq!(r.read("bad.bin"), bad.as_bytes());
    // Per the contract, a text that is not exactly a pointer is content:
    // cleaning it stores it, so Git sees a change that repairs the blob.
    assert_eq!(r.status(), " M bad.bin\n");
    // Tools that list data skip it rather than fail.
    assert_eq!(r.dvc(["ls-files"]).stdout, "");
}

/// A truncated or unreadable cache object is never served.
#[test]
fn damaged_cache_objects_are_not_served() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let v = data(8, 10_000);
    let w = data(9, 10_000);
    r.write("short.bin", &v);
    r.write("locked.bin", &w);
    r.commit_all("v1");
    let short = r.object(&sha256(&v));
    fs::set_permissions(&short, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&short, &v[..5000]).unwrap();
    let locked = r.object(&sha256(&w));
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let root_can_read = fs::read(&locked).is_ok();
    fs::remove_file(r.path.join("short.bin")).unwrap();
    fs::remove_file(r.path.join("locked.bin")).unwrap();
    let out = r.git_run(["checkout", "--", "."]);
    assert_eq!(out.code, 0);
    // Quarantined, so it is never served again (a fetch brings it back).
    let quarantined = r.cache().join("quarantine").join(sha256(&v));
    assert!(
        out.stderr.contains(&format!(
            "git-dvc: error: cached object {} has 5000 bytes, expected 10000; moved to {} (short.bin)\n",
            sha256(&v),
            quarantined.display()
        )),
        "{}",
        out.stderr
    );
    assert!(!short.exists());
    assert_eq!(fs::read(&quarantined).unwrap(), &v[..5000]);
    assert_eq!(r.read("short.bin"), pointer_for(&v).as_bytes());
    if !root_can_read {
        assert!(
            out.stderr
                .contains("locked.bin left as a pointer: cannot open"),
            "{}",
            out.stderr
        );
        assert_eq!(r.read("locked.bin"), pointer_for(&w).as_bytes());
    }
}

/// `GIT_DVC_SKIP_SMUDGE=1` leaves pointers, and the hook leaves them too.
#[test]
fn skip_smudge_environment() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["install", "--local"]);
    r.dvc(["track", "*.bin"]);
    let v = data(5, 4000);
    r.write("a.bin", &v);
    r.commit_all("v1");
    r.git(["branch", "other"]);
    fs::remove_file(r.path.join("a.bin")).unwrap();
    let out = r
        .env
        .cmd(&r.path, "git")
        .args(["checkout", "--", "a.bin"])
        .env("GIT_DVC_SKIP_SMUDGE", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let out = r
        .env
        .cmd(&r.path, "git")
        .args(["checkout", "-q", "other"])
        .env("GIT_DVC_SKIP_SMUDGE", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(r.read("a.bin"), pointer_for(&v).as_bytes());
}

/// Protocol abuse: the filter answers garbage with an error, not a panic.
#[test]
fn filter_process_rejects_a_bad_handshake() {
    let env = Env::new();
    let r = env.repo("p");
    let mut child = r
        .env
        .cmd(&r.path, "git-dvc")
        .arg("filter-process")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"0014git-filter-nope\n0000")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "git-dvc: error: unexpected filter handshake from git: git-filter-nope\n"
    );
    assert!(out.stdout.is_empty());
}

impl crate::harness::Repo<'_> {
    fn commit_all_allow_empty(&self) {
        self.git(["add", "-A"]);
        self.git(["commit", "-q", "--allow-empty", "-m", "init"]);
    }
}

/// Pointers naming the largest sizes a pointer may give (committed as they
/// are: a pointer cleans to itself) are fetched like any other: each is
/// missing from the remote, and the totals of sizes no machine holds do
/// not overflow.
#[test]
fn pointers_of_enormous_sizes_are_missing_objects_not_a_panic() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    for (name, oid) in [("a.bin", &a), ("b.bin", &b)] {
        r.write(
            name,
            format!(
                "version = \"git-dvc/1\"\noid = \"sha256:{oid}\"\nsize = {}\n",
                u64::MAX
            )
            .as_bytes(),
        );
    }
    let store = env.root().join("store");
    std::fs::create_dir_all(&store).unwrap();
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("two enormous pointers");
    let out = r.dvc_run(["fetch"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.pop(),
        Some("git-dvc: error: 2 of 2 objects failed to transfer (remote 'storage')")
    );
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            format!("git-dvc: error: object {a} is not on remote 'storage' (a.bin)"),
            format!("git-dvc: error: object {b} is not on remote 'storage' (b.bin)"),
        ]
    );
}
