//! `git dvc migrate`: a user adopts git-dvc from what they already have.
//!
//! DVC: the project in tests/fixtures/dvc was made by the real dvc 3.67.1
//! (make.sh), and restored.txt lists what the real `dvc pull` put in the
//! worktree at each tag (restored.sh); after migrating, plain
//! `git checkout <tag>` must give exactly those bytes. git-lfs: the
//! repository is made at test time by the real `git-lfs` when it is on
//! PATH (the tests say so and pass when it is not).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::{Env, Repo, data, pointer_for, sha256};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dvc")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

/// The fixture project cloned at `<root>/project`, its DVC remote beside it.
fn dvc_project(env: &Env) -> Repo<'_> {
    let bundle = fixture().join("project.bundle");
    env.ok(
        env.root(),
        "git",
        ["clone", "-q", bundle.to_str().unwrap(), "project"],
    );
    copy_dir(&fixture().join("remote"), &env.root().join("remote"));
    env.at(env.root().join("project"))
}

/// restored.txt: tag → path → sha256, as the real dvc restored them.
fn restored() -> BTreeMap<String, BTreeMap<String, String>> {
    let text = fs::read_to_string(fixture().join("restored.txt")).unwrap();
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (tag, sha, path) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        out.entry(tag.into())
            .or_default()
            .insert(path.into(), sha.into());
    }
    out
}

/// Every tracked file of the worktree that is not Git-only text: path → sha256.
fn data_files(r: &Repo<'_>) -> BTreeMap<String, String> {
    let plain = ["README.md", ".gitattributes", "dvc.yaml", "dvc.lock"];
    r.git(["ls-files"])
        .lines()
        .filter(|p| !plain.contains(p))
        .map(|p| (p.to_string(), sha256(&r.read(p))))
        .collect()
}

const ATTRS_V3: &str = "/data/images/** filter=dvc diff=dvc merge=dvc -text\n\
                        /prepared.txt filter=dvc diff=dvc merge=dvc -text\n\
                        /model.bin filter=dvc diff=dvc merge=dvc -text\n";

#[test]
fn migrate_dvc_stages_the_current_tree_from_the_dvc_remote() {
    let env = Env::new();
    let r = dvc_project(&env);
    let out = r.dvc(["migrate", "dvc"]);
    assert_eq!(
        out.stdout,
        "Migrated 7 files (398 B) from DVC at HEAD; 7 objects in the cache.\n\
         The changes are staged: review them with `git status`, then commit.\n\
         Old commits are unchanged; `--rewrite-history` converts them too.\n"
    );
    assert_eq!(
        r.git(["status", "--porcelain"]),
        "D  .dvc/.gitignore\nD  .dvc/config\nD  .dvcignore\nA  .gitattributes\nD  .gitignore\n\
         D  data/.gitignore\nD  data/images.dvc\nA  data/images/cats/1.txt\nA  data/images/cats/2.txt\n\
         A  data/images/dogs/1.txt\nA  data/images/dogs/2.txt\nA  data/images/dogs/3.txt\n\
         A  model.bin\nD  model.bin.dvc\nA  prepared.txt\n"
    );
    assert_eq!(
        String::from_utf8(r.read(".gitattributes")).unwrap(),
        ATTRS_V3
    );
    assert_eq!(data_files(&r), restored()["v3"]);
    assert_eq!(
        r.git(["cat-file", "-p", ":data/images/dogs/2.txt"]),
        pointer_for(b"woof 2 crlf\r\n")
    );
    // The pipeline's definition and record stay as plain files.
    assert!(r.path.join("dvc.yaml").is_file() && r.path.join("dvc.lock").is_file());
    r.git(["commit", "-q", "-m", "Move data to git-dvc"]);
    assert_eq!(r.status(), "");
    assert_eq!(
        r.dvc(["migrate", "dvc"]).stdout,
        "Nothing to migrate from DVC: already done.\n"
    );
}

#[test]
fn migrate_dvc_takes_objects_from_the_dvc_cache_in_either_layout() {
    for layout in ["remote", "remote-v2"] {
        let env = Env::new();
        let r = dvc_project(&env);
        // No remote: only the DVC cache (DVC 3's files/md5/ or DVC 2's root).
        fs::remove_dir_all(env.root().join("remote")).unwrap();
        copy_dir(&fixture().join(layout), &r.path.join(".dvc/cache"));
        let out = r.dvc(["migrate", "dvc"]);
        assert!(
            out.stdout.starts_with("Migrated 7 files (398 B)"),
            "{layout}: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains(&format!(
                "DVC's cache is still at {}: nothing was deleted from it",
                r.path.join(".dvc/cache").display()
            )),
            "{}",
            out.stdout
        );
        assert_eq!(data_files(&r), restored()["v3"], "{layout}");
    }
}

#[test]
fn migrate_dvc_rewrites_history_so_plain_checkout_of_old_tags_gives_dvcs_bytes() {
    let env = Env::new();
    let r = dvc_project(&env);
    let store = env.root().join("store");
    r.dvc([
        "remote",
        "add",
        "--local",
        "-d",
        "store",
        store.to_str().unwrap(),
    ]);
    let log =
        |r: &Repo<'_>, rev: &str| r.git(["log", "--format=%an <%ae> %ad|%cn <%ce> %cd|%B", rev]);
    let old_log = log(&r, "main");
    let old: BTreeMap<String, String> = ["main", "v1", "v2", "v3"]
        .iter()
        .map(|t| (t.to_string(), r.git(["rev-parse", t]).trim().to_string()))
        .collect();

    let out = r.dvc([
        "migrate",
        "dvc",
        "--rewrite-history",
        "--everything",
        "--remote",
        "store",
    ]);
    assert!(
        out.stdout.starts_with(
            "Migrated 7 files (398 B) from DVC at HEAD; 9 objects in the cache.\n\
             Rewrote 3 commits and moved 4 refs:\n"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("force-push"), "{}", out.stdout);
    assert!(out.stderr.contains("Uploaded 9 objects"), "{}", out.stderr);
    assert_eq!(r.status(), "", "the worktree is the new HEAD");
    assert_eq!(log(&r, "main"), old_log, "authors, dates, messages kept");
    for (name, id) in &old {
        let full = if name == "main" {
            "refs/heads/main".to_string()
        } else {
            format!("refs/tags/{name}")
        };
        assert_eq!(
            r.git(["rev-parse", &format!("refs/dvc-migrate/backup/{full}")])
                .trim(),
            id,
            "backup of {full}"
        );
        assert_ne!(r.git(["rev-parse", name]).trim(), id, "{name} rewritten");
    }

    // A new clone, with nothing but Git and the git-dvc remote.
    let src = r.path.to_str().unwrap().to_string();
    env.ok(env.root(), "git", ["clone", "-q", "-n", &src, "clone"]);
    let c = env.at(env.root().join("clone"));
    c.dvc([
        "remote",
        "add",
        "--local",
        "-d",
        "store",
        store.to_str().unwrap(),
    ]);
    c.git(["checkout", "-q", "main"]);
    for (tag, want) in restored() {
        c.git(["checkout", "-q", &tag]);
        assert_eq!(data_files(&c), want, "git checkout {tag}");
        assert_eq!(c.status(), "", "{tag}");
        for gone in [
            ".dvc/config",
            ".dvcignore",
            "data/images.dvc",
            "model.bin.dvc",
        ] {
            assert!(!c.path.join(gone).exists(), "{tag}: {gone}");
        }
    }

    // Twice changes nothing.
    let refs = r.git(["for-each-ref"]);
    assert_eq!(
        r.dvc(["migrate", "dvc", "--rewrite-history", "--everything"])
            .stdout,
        "Nothing to migrate from DVC: already done.\n"
    );
    assert_eq!(r.git(["for-each-ref"]), refs);
}

#[test]
fn migrate_dry_run_writes_nothing() {
    let env = Env::new();
    let r = dvc_project(&env);
    let refs = r.git(["for-each-ref"]);
    let out = r.dvc([
        "migrate",
        "dvc",
        "--rewrite-history",
        "--everything",
        "--dry-run",
    ]);
    assert_eq!(
        out.stdout,
        "Dry run: nothing was written. At HEAD, 3 outputs (398 B) would move from DVC to git-dvc.\n\
         3 commits would be rewritten; refs that would move:\n\
         \x20 refs/heads/main (backup refs/dvc-migrate/backup/refs/heads/main)\n\
         \x20 refs/tags/v1 (backup refs/dvc-migrate/backup/refs/tags/v1)\n\
         \x20 refs/tags/v2 (backup refs/dvc-migrate/backup/refs/tags/v2)\n\
         \x20 refs/tags/v3 (backup refs/dvc-migrate/backup/refs/tags/v3)\n"
    );
    assert_eq!(r.git(["for-each-ref"]), refs);
    assert_eq!(r.status(), "");
    assert!(!r.cache().exists(), "no object stored");
    assert_eq!(r.git(["count-objects"]), "0 objects, 0 kilobytes\n");
}

#[test]
fn migrate_dvc_refuses_data_changed_since_dvc_recorded_it() {
    let env = Env::new();
    let r = dvc_project(&env);
    r.write("model.bin", b"edited, never dvc-committed\n");
    let refs = r.git(["for-each-ref"]);
    let out = r.dvc_run(["migrate", "dvc", "--rewrite-history"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: model.bin differs from what DVC recorded (md5 {}, not f1897232af2a95f3492156c29f4f9301): record it with `dvc commit` or restore it with `dvc checkout`, then migrate (model.bin)\n",
            md5_hex(b"edited, never dvc-committed\n")
        )
    );
    assert_eq!(r.read("model.bin"), b"edited, never dvc-committed\n");
    assert_eq!(r.git(["for-each-ref"]), refs, "nothing moved");
    assert_eq!(r.status(), "");

    // Uncommitted Git changes are refused too, before anything is read.
    r.write("README.md", "changed\n");
    let out = r.dvc_run(["migrate", "dvc"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "git-dvc: error: the worktree has uncommitted changes; commit them first (README.md)\n"
        )
    );
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn migrate_dvc_names_what_it_cannot_find() {
    let env = Env::new();
    let r = dvc_project(&env);
    fs::remove_dir_all(env.root().join("remote")).unwrap();
    let out = r.dvc_run(["migrate", "dvc"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("git-dvc: error: cannot get data/images (md5 f1d58d3c7a2d9584907a46e73522da90.dir): not in the DVC cache "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.ends_with("(data/images)\n"), "{}", out.stderr);
    assert_eq!(r.status(), "");
}

fn git_lfs(env: &Env) -> bool {
    let ok = env.run(env.root(), "git-lfs", ["version"]).code == 0;
    if !ok {
        eprintln!("SKIPPED: git-lfs is not on PATH (apt-get install git-lfs)");
    }
    ok
}

#[test]
fn migrate_lfs_keeps_every_tag_checking_out_what_git_lfs_gave() {
    let env = Env::new();
    if !git_lfs(&env) {
        return;
    }
    let r = env.repo("lfs");
    r.git(["lfs", "install", "--local"]);
    r.git(["lfs", "track", "*.bin"]);
    let (a1, a2, b) = (data(1, 50_000), data(2, 70_000), data(3, 3_000));
    r.write("a.bin", &a1);
    r.write("sub/b.bin", &b);
    r.write("notes.txt", "plain\n");
    r.commit_all("v1");
    r.git(["tag", "v1"]);
    r.write("a.bin", &a2);
    r.commit_all("v2");
    r.git(["tag", "-a", "v2", "-m", "release 2"]);
    // What git-lfs itself checks out at each tag.
    let mut want = BTreeMap::new();
    for tag in ["v1", "v2"] {
        r.git(["checkout", "-q", tag]);
        want.insert(
            tag,
            (sha256(&r.read("a.bin")), sha256(&r.read("sub/b.bin"))),
        );
    }
    r.git(["checkout", "-q", "main"]);
    let lfs_ptr = r.git(["cat-file", "-p", "v1:a.bin"]);
    assert!(
        lfs_ptr.contains(&format!("oid sha256:{}", sha256(&a1))),
        "{lfs_ptr}"
    );

    let out = r.dvc(["migrate", "lfs", "--rewrite-history", "--everything"]);
    assert!(
        out.stdout.starts_with(
            "Migrated 2 files (71.3 KiB) from git-lfs at HEAD; 3 objects in the cache.\n\
             Rewrote 2 commits and moved 3 refs:\n"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(
        String::from_utf8(r.read(".gitattributes")).unwrap(),
        "*.bin filter=dvc diff=dvc merge=dvc -text\n"
    );
    assert_eq!(
        r.git(["cat-file", "-p", "v1:a.bin"]),
        pointer_for(&a1),
        "same sha256"
    );
    assert_eq!(
        r.git(["cat-file", "-t", "v2"]),
        "tag\n",
        "annotated tags stay annotated"
    );
    assert_eq!(
        r.git(["cat-file", "-p", "v2"]).lines().last(),
        Some("release 2")
    );
    // Plain git, git-lfs's filter out of the way, checks out the same bytes.
    r.git(["lfs", "uninstall", "--local"]);
    for tag in ["v1", "v2"] {
        r.git(["checkout", "-q", tag]);
        assert_eq!(
            (sha256(&r.read("a.bin")), sha256(&r.read("sub/b.bin"))),
            want[tag],
            "{tag}"
        );
        assert_eq!(r.read("notes.txt"), b"plain\n");
        assert_eq!(r.status(), "", "{tag}");
    }
    r.git(["checkout", "-q", "main"]);
    assert_eq!(
        r.dvc(["migrate", "lfs", "--rewrite-history", "--everything"])
            .stdout,
        "Nothing to migrate from git-lfs: already done.\n"
    );
}

#[test]
fn migrate_import_turns_plain_blobs_into_data_across_history() {
    let env = Env::new();
    let r = env.repo("plain");
    let (m1, m2) = (data(7, 20_000), data(8, 30_000));
    r.write("model.bin", &m1);
    r.write("src/main.c", "int main(void) { return 0; }\n");
    r.write("empty.bin", "");
    r.commit_all("first");
    r.git(["tag", "v1"]);
    r.write("model.bin", &m2);
    r.commit_all("second");

    let dry = r.dvc(["migrate", "import", "*.bin", "--dry-run"]);
    assert_eq!(
        dry.stdout,
        "Dry run: nothing was written. At HEAD, 1 file (29.3 KiB) would move from plain Git to git-dvc.\n"
    );
    assert_eq!(r.status(), "");

    let out = r.dvc(["migrate", "import", "*.bin", "--rewrite-history"]);
    assert!(
        out.stdout.starts_with(
            "Migrated 1 file (29.3 KiB) from plain Git at HEAD; 2 objects in the cache.\n\
             Rewrote 2 commits and moved 2 refs:\n"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(r.status(), "");
    assert_eq!(r.git(["cat-file", "-p", "v1:model.bin"]), pointer_for(&m1));
    assert_eq!(
        r.git(["cat-file", "-p", "v1:empty.bin"]),
        "",
        "empty files stay empty blobs"
    );
    assert_eq!(
        r.git(["cat-file", "-p", "v1:.gitattributes"]),
        "*.bin filter=dvc diff=dvc merge=dvc -text\n"
    );
    r.git(["checkout", "-q", "v1"]);
    assert_eq!(r.read("model.bin"), m1);
    assert_eq!(r.read("src/main.c"), b"int main(void) { return 0; }\n");
    r.git(["checkout", "-q", "main"]);
    assert_eq!(r.read("model.bin"), m2);
    assert_eq!(
        r.dvc(["migrate", "import", "*.bin", "--rewrite-history"])
            .stdout,
        "Nothing to migrate from plain Git: already done.\n"
    );
}

#[test]
fn migrate_dvc_fetches_from_an_http_dvc_remote() {
    let env = Env::new();
    let r = dvc_project(&env);
    let server = crate::servers::HttpServer::start(&env.root().join("remote"));
    r.write(
        ".dvc/config",
        format!(
            "[core]\n    remote = web\n['remote \"web\"']\n    url = {}\n",
            server.url
        ),
    );
    r.commit_all("DVC remote over HTTP");
    let out = r.dvc(["migrate", "dvc"]);
    assert!(
        out.stdout.starts_with("Migrated 7 files (398 B) from DVC"),
        "{}",
        out.stdout
    );
    assert_eq!(data_files(&r), restored()["v3"]);
}

#[test]
fn migrate_finishes_an_interrupted_run() {
    let env = Env::new();
    let r = dvc_project(&env);
    r.dvc(["migrate", "dvc", "--rewrite-history"]);
    // As if killed after the refs moved, before the worktree followed.
    r.git([
        "read-tree",
        "--reset",
        "-u",
        "refs/dvc-migrate/backup/refs/heads/main",
    ]);
    fs::write(r.path.join(".git/dvc/migrate-in-progress"), "").unwrap();
    assert_ne!(r.status(), "");
    let out = r.dvc(["migrate", "dvc", "--rewrite-history"]);
    assert_eq!(
        out.stderr,
        "Finishing an interrupted migration: checking out HEAD's migrated tree.\n"
    );
    assert_eq!(out.stdout, "Nothing to migrate from DVC: already done.\n");
    assert_eq!(r.status(), "");
    assert_eq!(data_files(&r), restored()["v3"]);
}

#[test]
fn migrate_lfs_takes_objects_from_a_local_remotes_store() {
    let env = Env::new();
    if !git_lfs(&env) {
        return;
    }
    let r = env.repo("origin");
    r.git(["lfs", "install", "--local"]);
    r.git(["lfs", "track", "*.bin"]);
    let a = data(5, 10_000);
    r.write("a.bin", &a);
    r.commit_all("one");
    // A clone that never downloaded the object.
    let src = r.path.to_str().unwrap().to_string();
    env.set_env("GIT_LFS_SKIP_SMUDGE", "1");
    env.ok(env.root(), "git", ["clone", "-q", &src, "clone"]);
    let c = env.at(env.root().join("clone"));
    assert!(!c.path.join(".git/lfs/objects").exists());
    let out = c.dvc(["migrate", "lfs"]);
    assert!(
        out.stdout
            .starts_with("Migrated 1 file (9.8 KiB) from git-lfs"),
        "{}",
        out.stdout
    );
    assert_eq!(c.read("a.bin"), a);
    assert_eq!(c.git(["cat-file", "-p", ":a.bin"]), pointer_for(&a));
}

#[test]
fn migrate_dvc_history_after_a_tree_migration_finds_the_old_commits_remote() {
    let env = Env::new();
    let r = dvc_project(&env);
    r.dvc(["migrate", "dvc"]);
    r.git(["commit", "-q", "-m", "Move data to git-dvc"]);
    // HEAD has no .dvc/config any more; v1..v3 name the DVC remote.
    let out = r.dvc(["migrate", "dvc", "--rewrite-history", "--everything"]);
    assert!(
        out.stdout.starts_with(
            "HEAD's tree was already migrated; 9 objects from older commits are in the cache.\n\
             Rewrote 4 commits and moved 4 refs:\n"
        ),
        "{}",
        out.stdout
    );
    for (tag, want) in restored() {
        r.git(["checkout", "-q", &tag]);
        assert_eq!(data_files(&r), want, "git checkout {tag}");
    }
}
