//! Every Git workflow stays correct around tracked data: merges (the
//! `merge.dvc` driver), sparse checkouts, every index format Git writes,
//! renames out of tracked patterns, and new files not yet added.

use std::fs;

use crate::harness::{Env, Repo, data, pointer_for};

fn tracked_repo(env: &Env) -> Repo<'_> {
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.write("f.bin", data(1, 5000));
    r.write("notes.txt", "v1\n");
    r.commit_all("v1");
    r
}

/// One side changed the data, the other did not: the merge is clean and
/// takes the change.
#[test]
fn merge_with_one_side_unchanged_takes_the_other() {
    let env = Env::new();
    let r = tracked_repo(&env);
    r.git(["switch", "-q", "-c", "other"]);
    r.write("f.bin", data(2, 6000));
    r.commit_all("other changes the data");
    r.git(["switch", "-q", "main"]);
    r.write("notes.txt", "v2\n");
    r.commit_all("main changes notes");
    let out = r.git_run(["merge", "-q", "--no-edit", "other"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr, "");
    assert_eq!(r.read("f.bin"), data(2, 6000));
    assert_eq!(r.git(["show", "HEAD:f.bin"]), pointer_for(&data(2, 6000)));
    assert_eq!(r.status(), "");
}

/// Both sides changed the data: the merge stops with a conflict naming the
/// file, the worktree holds our real content (no markers), both versions
/// are reachable, and `git dvc status` reports the conflict.
#[test]
fn merge_conflict_keeps_real_content_and_both_versions() {
    let env = Env::new();
    let r = tracked_repo(&env);
    let (ours, theirs) = (data(3, 7000), data(4, 8000));
    r.git(["switch", "-q", "-c", "other"]);
    r.write("f.bin", &theirs);
    r.commit_all("theirs");
    r.git(["switch", "-q", "main"]);
    r.write("f.bin", &ours);
    r.commit_all("ours");
    let out = r.git_run(["merge", "--no-edit", "other"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("CONFLICT (content): Merge conflict in f.bin"),
        "{}",
        out.stdout
    );
    let oid = |b: &[u8]| crate::harness::sha256(b)[..12].to_string();
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: warning: both sides changed the data in f.bin (ours {}, 6.8 KiB; theirs {}, 7.8 KiB); the worktree keeps ours: keep it with `git add f.bin`, or take theirs with `git checkout --theirs f.bin` then `git add f.bin`\n",
            oid(&ours),
            oid(&theirs)
        )
    );
    assert_eq!(r.read("f.bin"), ours, "real content, not conflict text");
    assert_eq!(r.status(), "UU f.bin\n");
    assert_eq!(
        r.dvc(["status"]).stdout,
        "Unmerged (both sides changed the data; `git add` the version to keep):\n\tf.bin\n"
    );
    r.git(["checkout", "--theirs", "f.bin"]);
    assert_eq!(r.read("f.bin"), theirs);
    r.git(["checkout", "--ours", "f.bin"]);
    assert_eq!(r.read("f.bin"), ours);
    r.git(["add", "f.bin"]);
    r.git(["commit", "-q", "--no-edit"]);
    assert_eq!(r.git(["show", "HEAD:f.bin"]), pointer_for(&ours));
    assert_eq!(r.status(), "");
}

/// Without the driver (an older install), Git text-merges the pointers;
/// storing that conflict text as data is refused.
#[test]
fn conflict_text_is_never_stored_as_data() {
    let env = Env::new();
    let r = tracked_repo(&env);
    env.ok(
        env.root(),
        "git",
        ["config", "--global", "--remove-section", "merge.dvc"],
    );
    r.git(["switch", "-q", "-c", "other"]);
    r.write("f.bin", data(4, 8000));
    r.commit_all("theirs");
    r.git(["switch", "-q", "main"]);
    r.write("f.bin", data(3, 7000));
    r.commit_all("ours");
    let out = r.git_run(["merge", "--no-edit", "other"]);
    assert_eq!(out.code, 1);
    let text = String::from_utf8(r.read("f.bin")).unwrap();
    assert!(text.contains("\n<<<<<<< HEAD\n"), "{text}");
    assert_eq!(
        r.dvc(["status"]).stdout,
        "Unmerged (both sides changed the data; `git add` the version to keep):\n\tf.bin\n"
    );
    let out = r.git_run(["add", "f.bin"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.starts_with("git-dvc: error: f.bin holds the conflict markers of a merge of two git-dvc pointers, not data; take one side with `git checkout --ours f.bin` or `git checkout --theirs f.bin` (set GIT_DVC_ALLOW_CONFLICT_TEXT=1 to store this text as data anyway)\n"),
        "{}",
        out.stderr
    );
    assert_eq!(r.status(), "UU f.bin\n", "nothing was staged");
    r.git(["checkout", "--theirs", "f.bin"]);
    assert_eq!(r.read("f.bin"), data(4, 8000));
}

/// Files outside a sparse-checkout cone are neither reported nor fetched.
#[test]
fn sparse_checkout_ignores_files_outside_the_cone() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.write("models/m.bin", data(5, 3000));
    for i in 0..3 {
        r.write(&format!("data/d{i}.bin"), data(10 + i, 4000));
    }
    let store = env.root().join("store");
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("v1");
    r.dvc(["push"]);
    r.git(["sparse-checkout", "set", "models"]);
    assert!(!r.path.join("data").exists());
    assert_eq!(r.dvc(["status"]).stdout, "Everything is up to date.\n");
    assert_eq!(
        r.dvc(["ls-files"]).stdout.lines().count(),
        1,
        "only the cone is listed"
    );
    fs::remove_dir_all(r.cache()).unwrap();
    fs::write(r.path.join("models/m.bin"), pointer_for(&data(5, 3000))).unwrap();
    let out = r.dvc(["pull"]);
    assert_eq!(
        out.stderr,
        "Downloaded 1 object (2.9 KiB) from 'storage'.\nChecked out 1 file.\n"
    );
    assert_eq!(r.read("models/m.bin"), data(5, 3000));
    assert!(
        !r.path.join("data").exists(),
        "nothing materialised outside"
    );
    assert_eq!(r.status(), "");
}

/// Every index format Git writes works: split index, version 4, the
/// untracked cache and fsmonitor-less large-repo settings.
#[test]
fn every_index_format_works() {
    for (key, value) in [
        ("core.splitIndex", "true"),
        ("index.version", "4"),
        ("core.untrackedCache", "true"),
    ] {
        let env = Env::new();
        let r = env.repo("p");
        r.git(["config", key, value]);
        r.dvc(["track", "*.bin"]);
        r.write("a.bin", data(20, 3000));
        r.write("dir/b.bin", data(21, 3000));
        r.commit_all("v1");
        r.git(["update-index", "--refresh"]);
        r.git(["tag", "v1"]);
        r.write("a.bin", data(22, 3000));
        r.commit_all("v2");
        r.write("c.bin", data(23, 100));
        r.commit_all("v3");

        r.git(["switch", "-q", "--detach", "v1"]);
        assert_eq!(r.read("a.bin"), data(20, 3000), "{key}: switch");
        r.git(["switch", "-q", "main"]);
        r.git(["checkout", "v1", "--", "a.bin"]);
        assert_eq!(r.read("a.bin"), data(20, 3000), "{key}: checkout -- path");
        r.git(["reset", "-q", "--hard"]);
        r.git(["switch", "-q", "-c", "pick", "v1"]);
        r.git(["cherry-pick", "main"]);
        assert_eq!(r.read("c.bin"), data(23, 100), "{key}: cherry-pick");
        r.git(["rebase", "-q", "main"]);
        r.write("a.bin", data(24, 3000));
        r.git(["stash", "-q"]);
        r.git(["stash", "pop", "-q"]);
        assert_eq!(r.read("a.bin"), data(24, 3000), "{key}: stash");
        r.git(["checkout", "-q", "--", "a.bin"]);
        r.git(["worktree", "add", "-q", "../wt", "v1"]);
        assert_eq!(
            fs::read(env.root().join("wt/a.bin")).unwrap(),
            data(20, 3000),
            "{key}: worktree add"
        );
        assert_eq!(r.status(), "", "{key}");
        let st = r.dvc(["status"]);
        assert_eq!(st.stdout, "Everything is up to date.\n", "{key}");
        let out = r.dvc(["checkout"]);
        assert_eq!(out.code, 0, "{key}: {}", out.stderr);
        assert_eq!(r.dvc(["ls-files"]).stdout.lines().count(), 3, "{key}");
    }
}

/// `git mv` of a tracked file to a name no pattern covers: the commit says
/// what happened and how to fix it, and `git dvc status` reports it.
#[test]
fn moving_data_outside_tracked_patterns_is_reported() {
    let env = Env::new();
    let r = tracked_repo(&env);
    r.git(["mv", "f.bin", "f.dat"]);
    let out = r.git_run(["commit", "-q", "-m", "rename"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "git-dvc: warning: f.dat holds a git-dvc pointer, but no tracked pattern covers that path (moved or copied outside `git dvc track` patterns?), so Git records the pointer text as a plain file; track it with `git dvc track 'f.dat'` and `git add 'f.dat'`, or move it back under a tracked name with `git mv`\n"
    );
    assert_eq!(
        r.dvc(["status"]).stdout,
        "Pointers at paths no tracked pattern covers (run `git dvc track <path>`, then `git add <path>`):\n\tf.dat\n"
    );
    r.dvc(["track", "f.dat"]);
    r.git(["add", "f.dat", ".gitattributes"]);
    r.git(["commit", "-q", "-m", "track f.dat"]);
    assert_eq!(r.status(), "");
    assert_eq!(r.dvc(["status"]).stdout, "Everything is up to date.\n");
    assert_eq!(r.read("f.dat"), data(1, 5000));
}

/// A new file under a tracked pattern is not "up to date".
#[test]
fn status_reports_new_files_under_tracked_patterns() {
    let env = Env::new();
    let r = tracked_repo(&env);
    r.write("new.bin", data(30, 100));
    r.write("other.txt", "x");
    assert_eq!(
        r.dvc(["status"]).stdout,
        "New, not staged yet (run `git add`):\n\tnew.bin\n"
    );
}

/// A configuration warning is printed once per command, not again by the
/// filters the command's own Git calls start.
#[test]
fn configuration_warnings_are_printed_once() {
    let env = Env::new();
    let r = tracked_repo(&env);
    r.write(".gitdvc.toml", "[cache]\ndir = \"/tmp/elsewhere\"\n");
    r.commit_all("a committed cache dir");
    r.write("f.bin", data(40, 5000));
    let out = r.dvc(["status"]);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: warning: 'cache.dir' in a committed .gitdvc.toml is ignored, since it could make git-dvc write outside the repository: set it in the clone's <git-dir>/dvc/config.toml or in your own ~/.config/git-dvc/config.toml ({})\n",
            r.path.join(".gitdvc.toml").display()
        )
    );
    assert_eq!(
        out.stdout,
        "Modified (worktree differs from the index):\n\tf.bin\n"
    );
}
