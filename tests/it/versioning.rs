//! "Versioning data and models": track, add, commit, and plain Git
//! commands bring any version's bytes back.

use std::fs;

use crate::harness::{Env, data, pointer_for};

/// The story of the issue: v1.0 comes back, byte for byte, with a clean status.
#[test]
fn checkout_of_a_tag_restores_its_data() {
    let env = Env::new();
    let r = env.repo("project");
    let model_v1 = data(1, 300_000);
    let a_v1 = data(2, 70_000);
    r.write("model.bin", &model_v1);
    r.write("data/a.csv", &a_v1);
    r.write("data/sub/b.csv", b"id,value\n1,2\n");
    r.write("README.md", "# project\n");

    let out = r.dvc(["track", "data/**", "model.bin"]);
    assert_eq!(out.stdout, "Tracking \"data/**\"\nTracking \"model.bin\"\n");
    assert_eq!(
        String::from_utf8(r.read(".gitattributes")).unwrap(),
        "data/** filter=dvc diff=dvc merge=dvc -text\nmodel.bin filter=dvc diff=dvc merge=dvc -text\n"
    );
    r.git(["add", ".gitattributes", "data", "model.bin", "README.md"]);
    r.git(["commit", "-q", "-m", "v1"]);
    r.git(["tag", "v1.0"]);

    // Git history holds the pointer, the cache holds the content.
    assert_eq!(
        r.git(["cat-file", "-p", "HEAD:model.bin"]),
        pointer_for(&model_v1)
    );
    assert_eq!(
        r.git(["cat-file", "-p", "HEAD:data/sub/b.csv"]),
        pointer_for(b"id,value\n1,2\n")
    );
    assert_eq!(r.git(["cat-file", "-p", "HEAD:README.md"]), "# project\n");
    let obj = r.object(&crate::harness::sha256(&model_v1));
    assert_eq!(fs::read(&obj).unwrap(), model_v1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&obj).unwrap().permissions().mode() & 0o222,
        0,
        "objects are read-only"
    );
    assert_eq!(r.status(), "");

    let model_v2 = data(3, 500_000);
    r.write("model.bin", &model_v2);
    r.write("data/a.csv", data(4, 10));
    fs::remove_file(r.path.join("data/sub/b.csv")).unwrap();
    r.write("data/new.csv", b"new\n");
    assert_eq!(
        r.status(),
        " M data/a.csv\n D data/sub/b.csv\n M model.bin\n?? data/new.csv\n"
    );
    r.commit_all("v2");

    r.git(["checkout", "-q", "v1.0"]);
    assert_eq!(r.read("model.bin"), model_v1);
    assert_eq!(r.read("data/a.csv"), a_v1);
    assert_eq!(r.read("data/sub/b.csv"), b"id,value\n1,2\n");
    assert!(!r.path.join("data/new.csv").exists());
    assert_eq!(r.status(), "");

    r.git(["switch", "-q", "main"]);
    assert_eq!(r.read("model.bin"), model_v2);
    assert_eq!(r.read("data/new.csv"), b"new\n");
    assert_eq!(r.status(), "");
}

/// `git checkout <rev> -- <path>`, `git reset --hard`, `git stash`.
#[test]
fn path_checkout_reset_and_stash() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "data/**"]);
    let v1 = data(10, 100_000);
    r.write("data/x.bin", &v1);
    r.commit_all("v1");
    r.git(["tag", "v1.0"]);
    let v2 = data(11, 120_000);
    r.write("data/x.bin", &v2);
    r.commit_all("v2");

    r.git(["checkout", "v1.0", "--", "data"]);
    assert_eq!(r.read("data/x.bin"), v1);
    assert_eq!(r.status(), "M  data/x.bin\n");

    r.git(["reset", "-q", "--hard"]);
    assert_eq!(r.read("data/x.bin"), v2);
    assert_eq!(r.status(), "");

    let wip = data(12, 5_000);
    r.write("data/x.bin", &wip);
    r.git(["stash", "-q"]);
    assert_eq!(r.read("data/x.bin"), v2);
    assert_eq!(r.status(), "");
    r.git(["stash", "pop", "-q"]);
    assert_eq!(r.read("data/x.bin"), wip);
    assert_eq!(r.status(), " M data/x.bin\n");

    r.git(["reset", "-q", "--hard", "v1.0"]);
    assert_eq!(r.read("data/x.bin"), v1);
    assert_eq!(r.status(), "");
}

/// Branches that change different tracked files merge cleanly.
#[test]
fn merge_of_branches_changing_different_files() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.write("a.bin", data(20, 1000));
    r.write("b.bin", data(21, 1000));
    r.commit_all("base");
    r.git(["switch", "-q", "-c", "feature"]);
    let b2 = data(22, 2000);
    r.write("b.bin", &b2);
    r.commit_all("feature changes b");
    r.git(["switch", "-q", "main"]);
    let a2 = data(23, 3000);
    r.write("a.bin", &a2);
    r.commit_all("main changes a");
    r.git(["merge", "-q", "--no-edit", "feature"]);
    assert_eq!(r.read("a.bin"), a2);
    assert_eq!(r.read("b.bin"), b2);
    assert_eq!(r.status(), "");
}

/// A second worktree shares the cache of the first.
#[test]
fn second_worktree_shares_the_cache() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let v1 = data(30, 50_000);
    r.write("m.bin", &v1);
    r.commit_all("v1");
    r.git(["branch", "old"]);
    r.write("m.bin", data(31, 10));
    r.commit_all("v2");
    let wt = env.root().join("wt");
    r.git(["worktree", "add", "-q", wt.to_str().unwrap(), "old"]);
    let w = env.at(&wt);
    assert_eq!(w.read("m.bin"), v1);
    assert_eq!(w.status(), "");
    assert!(!wt.join(".git").is_dir(), "a worktree has a .git file");
    // Content added in the worktree lands in the shared cache.
    let v3 = data(32, 20_000);
    w.write("m.bin", &v3);
    w.commit_all("v3 in worktree");
    assert_eq!(
        fs::read(r.object(&crate::harness::sha256(&v3))).unwrap(),
        v3
    );
}

/// A clone whose cache is shared through `cache.dir` checks out real data
/// with no remote at all.
#[test]
fn clone_with_a_shared_cache_dir() {
    let env = Env::new();
    let shared = env.root().join("shared-cache");
    let user_cfg = env.home().join(".config/git-dvc/config.toml");
    fs::create_dir_all(user_cfg.parent().unwrap()).unwrap();
    fs::write(
        &user_cfg,
        format!("[cache]\ndir = \"{}\"\n", shared.display()),
    )
    .unwrap();

    let r = env.repo("origin");
    r.dvc(["track", "*.bin"]);
    let v = data(40, 80_000);
    r.write("m.bin", &v);
    r.commit_all("v1");
    assert!(shared.join(&crate::harness::sha256(&v)[..2]).is_dir());
    assert!(!r.cache().exists(), "the default cache is not used");

    env.ok(env.root(), "git", ["clone", "-q", "origin", "clone"]);
    let c = env.at(env.root().join("clone"));
    assert_eq!(c.read("m.bin"), v);
    assert_eq!(c.status(), "");
    // The filter wrote the hooks of a fresh clone by itself.
    assert!(c.path.join(".git/hooks/pre-push").is_file());
}

/// Awkward names and contents: spaces, Unicode, empty files, binary files,
/// content that looks like a pointer, a symlink.
#[test]
fn awkward_names_and_contents() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "data/**"]);
    let names = [
        "data/with space.bin",
        "data/ünïcødé/日本語.bin",
        "data/empty.bin",
        "data/fake-pointer.txt",
    ];
    let bin = data(50, 65_537);
    let fake = pointer_for(b"not really");
    r.write(names[0], &bin);
    r.write(names[1], b"\x00\x01\x02\xff\xfe");
    r.write(names[2], b"");
    r.write(names[3], &fake);
    std::os::unix::fs::symlink("with space.bin", r.path.join("data/link.bin")).unwrap();
    r.commit_all("v1");

    assert_eq!(
        r.git(["cat-file", "-p", "HEAD:data/with space.bin"]),
        pointer_for(&bin)
    );
    assert_eq!(
        r.git(["cat-file", "-s", "HEAD:data/empty.bin"]),
        "0\n",
        "empty files stay empty blobs"
    );
    // A pointer text given as content passes through unchanged.
    assert_eq!(
        r.git(["cat-file", "-p", "HEAD:data/fake-pointer.txt"]),
        fake
    );
    // Symlinks are not filtered: Git stores the link target.
    assert_eq!(
        r.git(["cat-file", "-p", "HEAD:data/link.bin"]),
        "with space.bin"
    );

    r.git(["rm", "-q", "-r", "data"]);
    r.git(["commit", "-q", "-m", "gone"]);
    r.git(["checkout", "-q", "HEAD~1"]);
    assert_eq!(r.read(names[0]), bin);
    assert_eq!(r.read(names[1]), b"\x00\x01\x02\xff\xfe");
    assert_eq!(r.read(names[2]), b"");
    assert_eq!(r.read(names[3]), fake.as_bytes());
    assert_eq!(
        fs::read_link(r.path.join("data/link.bin"))
            .unwrap()
            .to_str(),
        Some("with space.bin")
    );
    assert_eq!(r.status(), "");
}

/// An executable tracked file keeps its mode through a checkout.
#[test]
fn executable_bit_survives() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.run"]);
    r.write("tool.run", data(60, 1000));
    fs::set_permissions(r.path.join("tool.run"), fs::Permissions::from_mode(0o755)).unwrap();
    r.commit_all("v1");
    assert!(r.git(["ls-files", "-s", "tool.run"]).starts_with("100755 "));
    fs::remove_file(r.path.join("tool.run")).unwrap();
    r.git(["checkout", "--", "tool.run"]);
    assert_eq!(
        fs::metadata(r.path.join("tool.run"))
            .unwrap()
            .permissions()
            .mode()
            & 0o111,
        0o111
    );
}

/// Re-cleaning content the cache already holds (a touched file, a refresh
/// after `git dvc checkout`) writes nothing; a same-size edit is still
/// stored as new content.
#[test]
fn unchanged_content_is_not_written_again() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let v1 = data(70, 1 << 20);
    r.write("a.bin", &v1);
    r.commit_all("v1");
    // Any write into the cache would now fail.
    let tmp = r.cache().join("tmp");
    let _ = fs::remove_dir_all(&tmp);
    fs::write(&tmp, "not a directory").unwrap();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(r.path.join("a.bin"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(f);
    let out = r.git_run(["status", "--porcelain"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );

    fs::remove_file(&tmp).unwrap();
    let mut v2 = v1.clone();
    v2[1000] ^= 1;
    r.write("a.bin", &v2);
    r.git(["add", "a.bin"]);
    assert_eq!(r.git(["cat-file", "-p", ":a.bin"]), pointer_for(&v2));
    assert_eq!(
        fs::read(r.object(&crate::harness::sha256(&v2))).unwrap(),
        v2
    );
}
