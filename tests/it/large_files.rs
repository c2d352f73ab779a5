//! Large files: checkout writes them itself (reflink or kernel copy), so no
//! process's memory grows with file size, `git status` stays clean without
//! re-reading them, every Git command leaves real content, and an
//! interruption or a damaged object never leaves a wrong file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::harness::{Env, Repo, Run, data, pointer_for, sha256};

/// Runs `git <args>` and returns what happened with the peak resident
/// memory (KiB) of the largest process it ran (Git, the filter, hooks).
fn git_peak_rss(r: &Repo<'_>, args: &[&str]) -> Option<(Run, u64)> {
    let script = "import resource,subprocess,sys\n\
                  p=subprocess.run(sys.argv[1:])\n\
                  sys.stderr.write('peak-rss %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
                  sys.exit(p.returncode)";
    let mut all = vec!["-c", script, "git"];
    all.extend_from_slice(args);
    let out = r.env.run(&r.path, "python3", &all);
    if out.code == 127 || out.stderr.contains("No such file") {
        return None;
    }
    let peak = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss "))
        .and_then(|n| n.parse().ok())?;
    Some((out, peak))
}

/// `git status`, which must not send a big file (`*big*.bin`, `a.bin`)
/// to the filter: nothing git-dvc wrote is re-read. (Small files Git wrote
/// within the same second as an index may be, by Git's racy-timestamp
/// rule.)
fn status_without_filter(r: &Repo<'_>, what: &str) -> String {
    let out = r
        .env
        .cmd(&r.path, "git")
        .args(["status", "--porcelain"])
        .env("GIT_TRACE_PACKET", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reread: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split("git> pathname=").nth(1))
        .filter(|p| p.contains("big") || *p == "a.bin")
        .collect();
    assert!(reread.is_empty(), "{what}: git status re-read {reread:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn two_versions(r: &Repo<'_>, len: usize) -> (Vec<u8>, Vec<u8>) {
    r.dvc(["track", "*.bin"]);
    let (v1, v2) = (data(61, len), data(62, len));
    r.write("big.bin", &v1);
    r.write("small.bin", data(63, 1000));
    r.commit_all("v1");
    r.git(["tag", "v1"]);
    r.write("big.bin", &v2);
    r.commit_all("v2");
    (v1, v2)
}

/// Above the default direct size (32 MiB), a switch moves the file without
/// Git or git-dvc holding it in memory, and `git status` right after is
/// clean without running the filter.
#[test]
fn switching_a_big_file_keeps_memory_flat_and_status_clean() {
    let env = Env::new();
    let r = env.repo("p");
    let (v1, v2) = two_versions(&r, 40 << 20);
    let Some((out, peak)) = git_peak_rss(&r, &["switch", "-q", "--detach", "v1"]) else {
        eprintln!("skipped: python3 is not available to measure memory");
        return;
    };
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        peak < 30 << 10,
        "the largest process peaked at {peak} KiB for a 40 MiB file"
    );
    assert_eq!(sha256(&r.read("big.bin")), sha256(&v1));
    assert_eq!(status_without_filter(&r, "switch"), "");
    let (_, peak) = git_peak_rss(&r, &["switch", "-q", "main"]).unwrap();
    assert!(peak < 30 << 10, "{peak} KiB");
    assert_eq!(sha256(&r.read("big.bin")), sha256(&v2));
    assert_eq!(status_without_filter(&r, "switch"), "");
    assert_eq!(r.dvc(["status"]).stdout, "Everything is up to date.\n");
}

/// The index's stat data stays true whatever index format Git writes.
#[test]
fn status_is_clean_after_a_direct_checkout_with_every_index_format() {
    for (key, value) in [
        ("index.version", "4"),
        ("core.untrackedCache", "true"),
        ("core.splitIndex", "true"),
    ] {
        let env = Env::new();
        env.set_env("GIT_DVC_DIRECT_SIZE", "1MiB");
        let r = env.repo("p");
        r.git(["config", key, value]);
        let (v1, v2) = two_versions(&r, 3 << 20);
        r.git(["switch", "-q", "--detach", "v1"]);
        assert_eq!(r.read("big.bin"), v1, "{key}");
        assert_eq!(status_without_filter(&r, key), "", "{key}");
        r.git(["switch", "-q", "main"]);
        assert_eq!(r.read("big.bin"), v2, "{key}");
        assert_eq!(status_without_filter(&r, key), "", "{key}");
    }
}

/// Every Git command that changes the worktree leaves real content in a
/// big file, and a clean status.
#[test]
fn every_git_command_leaves_real_content() {
    let env = Env::new();
    env.set_env("GIT_DVC_DIRECT_SIZE", "1MiB");
    let store = env.root().join("store");
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    let v: Vec<Vec<u8>> = (0..6).map(|i| data(70 + i, (1 << 20) + 5000)).collect();
    r.write("a.bin", &v[0]);
    r.commit_all("v0");
    r.git(["tag", "v0"]);
    r.write("a.bin", &v[1]);
    r.commit_all("v1");
    r.git(["tag", "v1"]);
    r.dvc(["push", "--all"]);
    let check = |what: &str, want: &[u8]| {
        assert_eq!(
            sha256(&r.read("a.bin")),
            sha256(want),
            "{what}: wrong content"
        );
        assert_eq!(status_without_filter(&r, what), "", "{what}");
    };

    r.git(["checkout", "-q", "v0"]);
    check("checkout", &v[0]);
    r.git(["switch", "-q", "main"]);
    check("switch", &v[1]);
    r.git(["checkout", "v0", "--", "a.bin"]);
    assert_eq!(sha256(&r.read("a.bin")), sha256(&v[0]), "checkout -- path");
    r.git(["reset", "-q", "--hard"]);
    check("reset --hard", &v[1]);

    // A branch to merge, cherry-pick, revert and rebase onto.
    r.git(["switch", "-q", "-c", "side", "v1"]);
    r.write("a.bin", &v[2]);
    r.commit_all("side");
    r.git(["switch", "-q", "main"]);
    r.write("other.txt", "x");
    r.commit_all("main moves on");
    r.git(["cherry-pick", "side"]);
    check("cherry-pick", &v[2]);
    r.git(["revert", "--no-edit", "HEAD"]);
    check("revert", &v[1]);
    r.git(["reset", "-q", "--hard", "v1"]);
    check("reset --hard v1", &v[1]);
    r.git(["switch", "-q", "-c", "m", "v0"]);
    r.git(["merge", "-q", "--no-edit", "side"]);
    check("merge (fast-forward)", &v[2]);
    r.git(["switch", "-q", "-c", "m2", "v1"]);
    r.write("c.txt", "c");
    r.commit_all("m2");
    r.git(["merge", "-q", "--no-edit", "side"]);
    check("merge (three-way)", &v[2]);
    r.git(["switch", "-q", "-c", "rb", "v0"]);
    r.write("b.txt", "b");
    r.commit_all("rb");
    r.git(["rebase", "-q", "v1"]);
    check("rebase", &v[1]);

    r.write("a.bin", &v[3]);
    r.git(["stash", "-q"]);
    check("stash", &v[1]);
    r.git(["stash", "pop", "-q"]);
    assert_eq!(sha256(&r.read("a.bin")), sha256(&v[3]), "stash pop");
    // Modified against the index: Git has to read it to say so.
    assert_eq!(r.status(), " M a.bin\n", "stash pop");
    r.git(["checkout", "-q", "--", "a.bin"]);

    r.git(["worktree", "add", "-q", "../wt", "v0"]);
    let wt = env.at(env.root().join("wt"));
    assert_eq!(sha256(&wt.read("a.bin")), sha256(&v[0]), "worktree add");
    assert_eq!(
        status_without_filter(&wt, "worktree add"),
        "",
        "worktree add"
    );

    // A fresh clone fetches the object and writes it directly.
    r.git(["switch", "-q", "main"]);
    env.ok(env.root(), "git", ["clone", "-q", "p", "fresh"]);
    let c = env.at(env.root().join("fresh"));
    assert_eq!(sha256(&c.read("a.bin")), sha256(&v[1]), "clone");
    assert_eq!(status_without_filter(&c, "clone"), "", "clone");
    // And pull brings a new version.
    r.write("a.bin", &v[4]);
    r.commit_all("v4");
    r.dvc(["push"]);
    c.git(["pull", "-q"]);
    assert_eq!(sha256(&c.read("a.bin")), sha256(&v[4]), "pull");
    assert_eq!(status_without_filter(&c, "pull"), "", "pull");
}

/// Several big files in one checkout are written side by side, each with
/// its own content, and `git status` stays clean without re-reading any:
/// on a switch (the filter writes them once Git is done) and on
/// `git dvc checkout` of their pointer files.
#[test]
fn several_big_files_in_one_checkout_each_get_their_own_content() {
    let env = Env::new();
    env.set_env("GIT_DVC_DIRECT_SIZE", "1MiB");
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let version = |seed: u64| -> Vec<Vec<u8>> {
        (0..4u64)
            .map(|i| data(seed + i, (1 << 20) + 100 * i as usize))
            .collect()
    };
    let (v1, v2) = (version(80), version(90));
    for (i, d) in v1.iter().enumerate() {
        r.write(&format!("big{i}.bin"), d);
    }
    r.commit_all("v1");
    r.git(["tag", "v1"]);
    for (i, d) in v2.iter().enumerate() {
        r.write(&format!("big{i}.bin"), d);
    }
    r.commit_all("v2");
    let check = |what: &str, want: &[Vec<u8>]| {
        for (i, d) in want.iter().enumerate() {
            assert_eq!(
                sha256(&r.read(&format!("big{i}.bin"))),
                sha256(d),
                "{what}: big{i}.bin"
            );
        }
        assert_eq!(status_without_filter(&r, what), "", "{what}");
    };

    r.git(["switch", "-q", "--detach", "v1"]);
    check("switch", &v1);
    for (i, d) in v1.iter().enumerate() {
        r.write(&format!("big{i}.bin"), pointer_for(d));
    }
    let out = r.dvc(["checkout"]);
    assert_eq!(out.stderr, "Checked out 4 files.\n");
    check("git dvc checkout", &v1);
}

/// A damaged big object is never written: the file keeps its pointer, one
/// warning names it, and the object is quarantined.
#[test]
fn a_corrupt_big_object_is_never_written() {
    let env = Env::new();
    env.set_env("GIT_DVC_DIRECT_SIZE", "1MiB");
    let r = env.repo("p");
    let (v1, _) = two_versions(&r, 2 << 20);
    let hex = sha256(&v1);
    let obj = r.object(&hex);
    fs::set_permissions(&obj, fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = fs::read(&obj).unwrap();
    bytes[1 << 20] ^= 1;
    fs::write(&obj, &bytes).unwrap();
    let out = r.git_run(["switch", "-q", "--detach", "v1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let q = r.cache().join("quarantine").join(&hex);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: warning: big.bin left as a pointer: cached object {hex} is corrupt (its content hashes to {}); moved to {}; run `git dvc checkout` to write it\n",
            sha256(&bytes),
            q.display()
        )
    );
    assert_eq!(r.read("big.bin"), pointer_for(&v1).as_bytes());
    assert!(!obj.exists());
    assert_eq!(r.status(), "");
}

/// Killing a direct write at any moment leaves the pointer or the whole
/// file, never a torn one; running it again finishes, and gc removes what
/// the killed process left in the cache's temp directory.
#[test]
fn a_killed_direct_write_leaves_the_old_file_or_the_new_one() {
    let env = Env::new();
    env.set_env("GIT_DVC_DIRECT_SIZE", "1MiB");
    let r = env.repo("p");
    let (v1, _) = two_versions(&r, 64 << 20);
    let ptr = pointer_for(&v1);
    for delay_ms in [5u64, 20, 60] {
        env.set_env("GIT_DVC_SKIP_SMUDGE", "1");
        r.git(["switch", "-q", "--detach", "v1"]);
        env.set_env("GIT_DVC_SKIP_SMUDGE", "0");
        assert_eq!(r.read("big.bin"), ptr.as_bytes());
        let mut child = r.spawn_dvc(["checkout", "--quiet"]);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let now = r.read("big.bin");
        assert!(
            now == ptr.as_bytes() || sha256(&now) == sha256(&v1),
            "after a kill at {delay_ms} ms the file is torn ({} bytes)",
            now.len()
        );
        r.dvc(["checkout", "--quiet"]);
        assert_eq!(sha256(&r.read("big.bin")), sha256(&v1));
        assert_eq!(r.status(), "");
        r.dvc(["gc", "--quiet"]);
        let tmp = r.cache().join("tmp");
        let left: Vec<_> = fs::read_dir(&tmp)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "temp files left: {left:?}");
        r.git(["switch", "-q", "main"]);
    }
    assert_eq!(r.git(["status", "--porcelain", "--ignored"]), "");
}

/// Mounts a small XFS image with reflink support at `dir`; None (and the
/// test is skipped, saying why) where that is not possible here.
fn mount_xfs(env: &Env) -> Option<XfsMount> {
    let img = env.root().join("xfs.img");
    let dir = env.root().join("xfs");
    let skip = |why: &str| {
        eprintln!("skipped: cannot mount a reflink XFS image ({why})");
        None
    };
    if std::process::Command::new("mkfs.xfs")
        .arg("-V")
        .output()
        .is_err()
    {
        return skip("mkfs.xfs is not installed; apt-get install xfsprogs");
    }
    let f = fs::File::create(&img).ok()?;
    f.set_len(320 << 20).ok()?;
    drop(f);
    let mk = std::process::Command::new("mkfs.xfs")
        .args(["-q", "-m", "reflink=1"])
        .arg(&img)
        .output()
        .ok()?;
    if !mk.status.success() {
        return skip(&String::from_utf8_lossy(&mk.stderr));
    }
    fs::create_dir_all(&dir).ok()?;
    let m = std::process::Command::new("mount")
        .args(["-o", "loop"])
        .arg(&img)
        .arg(&dir)
        .output()
        .ok()?;
    if !m.status.success() {
        return skip(String::from_utf8_lossy(&m.stderr).trim());
    }
    Some(XfsMount { dir })
}

struct XfsMount {
    dir: std::path::PathBuf,
}

impl Drop for XfsMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).status();
    }
}

/// Bytes in use on the filesystem holding `dir` (as `df` counts them).
fn used_bytes(dir: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=used"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap()
}

/// Extents of `path` that `filefrag -v` reports as shared with another
/// file, out of all its extents.
fn shared_extents(path: &Path) -> (usize, usize) {
    let out = std::process::Command::new("filefrag")
        .arg("-v")
        .arg(path)
        .output()
        .expect("filefrag (e2fsprogs)");
    let text = String::from_utf8_lossy(&out.stdout);
    let extents: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.trim_start()
                .split(':')
                .next()
                .is_some_and(|n| n.trim().parse::<u32>().is_ok())
        })
        .collect();
    (
        extents.iter().filter(|l| l.contains("shared")).count(),
        extents.len(),
    )
}

/// On a reflink filesystem the worktree file shares its extents with the
/// cache object: two versions of 64 MiB take about 128 MiB, not 256.
#[test]
fn on_xfs_checkout_shares_extents_with_the_cache() {
    let env = Env::new();
    let Some(mnt) = mount_xfs(&env) else {
        return;
    };
    env.set_env("GIT_DVC_DIRECT_SIZE", "1MiB");
    let r = env.at(mnt.dir.join("p"));
    fs::create_dir_all(&r.path).unwrap();
    r.git(["init", "-q"]);
    let before = used_bytes(&mnt.dir);
    let (v1, v2) = two_versions(&r, 64 << 20);
    // `git add` made each cache object share the worktree file's extents.
    let (shared, all) = shared_extents(&r.path.join("big.bin"));
    assert!(
        all > 0 && shared == all,
        "after add: {shared} of {all} shared"
    );
    assert_eq!(
        sha256(&fs::read(r.object(&sha256(&v2))).unwrap()),
        sha256(&v2)
    );
    r.git(["switch", "-q", "--detach", "v1"]);
    // Two versions of 64 MiB, cache and worktree: 128 MiB on disk, not 192.
    let used = used_bytes(&mnt.dir) - before;
    let content = 2 * (64u64 << 20);
    assert!(
        used * 100 <= content * 110,
        "cache + worktree use {used} bytes for {content} bytes of content"
    );
    assert_eq!(sha256(&r.read("big.bin")), sha256(&v1));
    let (shared, all) = shared_extents(&r.path.join("big.bin"));
    assert!(all > 0 && shared == all, "{shared} of {all} extents shared");
    let (shared, all) = shared_extents(&r.object(&sha256(&v1)));
    assert!(
        all > 0 && shared == all,
        "cache object: {shared} of {all} shared"
    );
    assert_eq!(status_without_filter(&r, "switch"), "");
}

/// A direct write well after Git last wrote the index (a slow machine, a
/// later `git dvc checkout`) still leaves an entry `git status` trusts:
/// libgit2, writing the index, would otherwise take the newer file for
/// racily clean and smudge its entry.
#[test]
fn a_direct_write_long_after_the_index_is_not_reread() {
    let env = Env::new();
    env.set_env("GIT_DVC_DIRECT_SIZE", "1MiB");
    let r = env.repo("p");
    let (v1, _) = two_versions(&r, 2 << 20);
    env.set_env("GIT_DVC_SKIP_SMUDGE", "1");
    r.git(["switch", "-q", "--detach", "v1"]);
    env.set_env("GIT_DVC_SKIP_SMUDGE", "0");
    std::thread::sleep(std::time::Duration::from_millis(1300));
    r.dvc(["checkout", "--quiet"]);
    assert_eq!(sha256(&r.read("big.bin")), sha256(&v1));
    assert_eq!(status_without_filter(&r, "checkout later"), "");
}
