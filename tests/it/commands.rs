//! The everyday commands' output, exactly.

use std::fs;

use crate::harness::{Env, data, pointer_for, sha256};

#[test]
fn version_help_and_usage_errors() {
    let env = Env::bare();
    let out = env.ok(env.root(), "git-dvc", ["--version"]);
    assert_eq!(
        out.stdout,
        format!("git-dvc {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = env.ok(env.root(), "git", ["dvc", "--version"]);
    assert_eq!(
        out.stdout,
        format!("git-dvc {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = env.run(env.root(), "git-dvc", ["track", "--bogus"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: unexpected argument '--bogus' found"),
        "{}",
        out.stderr
    );
    for cmd in [
        "install",
        "track",
        "checkout",
        "status",
        "ls-files",
        "diff",
        "pointer",
        "remote",
        "filter-process",
    ] {
        env.ok(env.root(), "git-dvc", [cmd, "--help"]);
    }
}

#[test]
fn errors_outside_a_repository() {
    let env = Env::bare();
    let out = env.run(env.root(), "git-dvc", ["status"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "git-dvc: error: not in a git repository\n");
}

#[test]
fn track_lists_untracks_and_picks_up_committed_files() {
    let env = Env::new();
    let r = env.repo("p");
    // A file committed as a plain blob before tracking.
    let v = data(1, 2000);
    r.write("old.bin", &v);
    r.commit_all("plain");
    r.dvc(["track", "*.bin", "my data/*.csv"]);
    assert_eq!(
        String::from_utf8(r.read(".gitattributes")).unwrap(),
        "*.bin filter=dvc diff=dvc merge=dvc -text\nmy[[:space:]]data/*.csv filter=dvc diff=dvc merge=dvc -text\n"
    );
    assert_eq!(
        r.dvc(["track", "*.bin"]).stdout,
        "\"*.bin\" already tracked\n"
    );
    assert_eq!(r.dvc(["track", "--quiet", "*.bin"]).stdout, "");
    assert_eq!(
        r.dvc(["track"]).stdout,
        "Listing tracked patterns\n    *.bin (.gitattributes)\n    my data/*.csv (.gitattributes)\n"
    );
    // The already-committed file is now seen as changed and becomes a pointer.
    assert_eq!(r.status(), " M old.bin\n?? .gitattributes\n");
    r.commit_all("track");
    assert_eq!(r.git(["cat-file", "-p", "HEAD:old.bin"]), pointer_for(&v));
    r.write("my data/x.csv", "a,b\n");
    r.commit_all("csv");
    assert_eq!(
        r.git(["cat-file", "-p", "HEAD:my data/x.csv"]),
        pointer_for(b"a,b\n")
    );

    // Patterns are relative to the current directory, like paths.
    fs::create_dir_all(r.path.join("sub")).unwrap();
    let out = env.ok(&r.path.join("sub"), "git-dvc", ["track", "*.h5"]);
    assert_eq!(out.stdout, "Tracking \"sub/*.h5\"\n");

    assert_eq!(r.dvc(["untrack", "*.bin"]).stdout, "Untracking \"*.bin\"\n");
    assert_eq!(
        String::from_utf8(r.read(".gitattributes")).unwrap(),
        "my[[:space:]]data/*.csv filter=dvc diff=dvc merge=dvc -text\nsub/*.h5 filter=dvc diff=dvc merge=dvc -text\n"
    );
    let out = r.dvc(["untrack", "nope"]);
    assert_eq!(
        out.stderr,
        "git-dvc: warning: \"nope\" was not tracked (.gitattributes)\n"
    );
}

#[test]
fn ls_files_status_diff_and_pointer() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let a1 = data(1, 1_048_576);
    let b1 = data(2, 2048);
    r.write("a.bin", &a1);
    r.write("dir/b.bin", &b1);
    r.write("plain.txt", "x\n");
    r.commit_all("v1");
    let (ha, hb) = (sha256(&a1), sha256(&b1));

    assert_eq!(
        r.dvc(["ls-files"]).stdout,
        format!(
            "{} * a.bin (1.0 MiB)\n{} * dir/b.bin (2.0 KiB)\n",
            &ha[..10],
            &hb[..10]
        )
    );
    assert_eq!(
        r.dvc(["ls-files", "--long"]).stdout,
        format!("{ha} * a.bin (1048576 bytes)\n{hb} * dir/b.bin (2048 bytes)\n")
    );
    let json: serde_json::Value =
        serde_json::from_str(&r.dvc(["ls-files", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["path"], "a.bin");
    assert_eq!(json[0]["oid"], format!("sha256:{ha}"));
    assert_eq!(json[0]["size"], 1_048_576);
    assert_eq!(json[0]["worktree"], "content");
    assert_eq!(r.dvc(["status"]).stdout, "Everything is up to date.\n");

    // Change a, delete b, add c.
    let a2 = data(3, 2_097_152);
    r.write("a.bin", &a2);
    fs::remove_file(r.path.join("dir/b.bin")).unwrap();
    let ha2 = sha256(&a2);
    assert_eq!(
        r.dvc(["status"]).stdout,
        "Modified (worktree differs from the index):\n\ta.bin\nDeleted from the worktree:\n\tdir/b.bin\n"
    );
    assert_eq!(
        r.dvc(["diff"]).stdout,
        format!(
            "modified: a.bin (size 1048576 -> 2097152, oid {}… -> {}…)\ndeleted:  dir/b.bin (size 2048, oid {}…)\n",
            &ha[..8],
            &ha2[..8],
            &hb[..8]
        )
    );
    let c = b"c\n";
    r.write("c.bin", c);
    r.commit_all("v2");
    assert_eq!(r.dvc(["diff"]).stdout, "");
    let json: serde_json::Value =
        serde_json::from_str(&r.dvc(["diff", "HEAD~1", "HEAD", "--json"]).stdout).unwrap();
    assert_eq!(json["added"][0]["path"], "c.bin");
    assert_eq!(
        json["added"][0]["new"]["oid"],
        format!("sha256:{}", sha256(c))
    );
    assert_eq!(json["modified"][0]["old"]["size"], 1_048_576);
    assert_eq!(json["modified"][0]["new"]["size"], 2_097_152);
    assert_eq!(json["deleted"][0]["path"], "dir/b.bin");

    // `git diff` reads sizes and oids, not pointer texts.
    let out = r.git(["diff", "HEAD~1", "HEAD", "--", "a.bin"]);
    assert!(
        out.ends_with(&format!(
            "-size 1048576, oid {}…\n+size 2097152, oid {}…\n",
            &ha[..8],
            &ha2[..8]
        )),
        "{out}"
    );

    // `git dvc pointer` hashes content, and echoes a pointer.
    assert_eq!(r.dvc(["pointer", "a.bin"]).stdout, pointer_for(&a2));
    r.write("p.txt", pointer_for(b"zz"));
    assert_eq!(r.dvc(["pointer", "p.txt"]).stdout, pointer_for(b"zz"));
    // ls-files of an old revision.
    assert_eq!(
        r.dvc(["ls-files", "HEAD~1", "--long"]).stdout,
        format!("{ha} * a.bin (1048576 bytes)\n{hb} - dir/b.bin (2048 bytes)\n")
    );
}

#[test]
fn remotes_are_edited_in_the_layered_config() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc([
        "remote",
        "add",
        "-d",
        "storage",
        "s3://bucket/project",
        "--endpoint",
        "http://127.0.0.1:9000",
        "--region",
        "us-east-1",
    ]);
    assert_eq!(
        String::from_utf8(r.read(".gitdvc.toml")).unwrap(),
        "[remote.storage]\nurl = \"s3://bucket/project\"\nendpoint = \"http://127.0.0.1:9000\"\nregion = \"us-east-1\"\n\n[core]\nremote = \"storage\"\n"
    );
    r.dvc(["remote", "add", "--local", "backup", "/srv/backup"]);
    assert_eq!(
        fs::read_to_string(r.path.join(".git/dvc/config.toml")).unwrap(),
        "[remote.backup]\nurl = \"/srv/backup\"\n"
    );
    r.dvc([
        "remote",
        "add",
        "--global",
        "mine",
        "https://example.org/data",
    ]);
    assert_eq!(
        r.dvc(["remote", "list"]).stdout,
        "backup\t/srv/backup\nmine\thttps://example.org/data\nstorage\ts3://bucket/project (default)\n"
    );
    let out = r.dvc_run(["remote", "add", "storage", "/x"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: remote 'storage' already exists ({}); use --force to replace it\n",
            r.path.join(".gitdvc.toml").display()
        )
    );
    let out = r.dvc_run(["remote", "add", "x", "ftp://nope"]);
    assert_eq!(
        out.stderr,
        "git-dvc: error: unsupported remote URL \"ftp://nope\": use a directory path, file:///abs/path, http(s):// or s3://\n"
    );
    r.dvc(["remote", "set", "--local", "storage", "profile", "team"]);
    r.dvc(["remote", "set", "storage", "read_only", "true"]);
    let out = r.dvc_run(["remote", "set", "storage", "colour", "blue"]);
    assert_eq!(
        out.stderr,
        "git-dvc: error: unknown remote option 'colour' (known: url, endpoint, region, profile, read_only)\n"
    );
    r.dvc(["remote", "remove", "storage"]);
    assert_eq!(
        r.dvc(["remote", "list"]).stdout,
        "backup\t/srv/backup\nmine\thttps://example.org/data\n"
    );
    assert_eq!(String::from_utf8(r.read(".gitdvc.toml")).unwrap(), "");
    let out = r.dvc_run(["remote", "remove", "storage"]);
    assert_eq!(out.stderr, "git-dvc: error: no such remote (storage)\n");
}

#[test]
fn committed_config_cannot_move_the_cache() {
    let env = Env::new();
    let r = env.repo("p");
    let evil = env.root().join("evil");
    r.write(
        ".gitdvc.toml",
        format!("[cache]\ndir = \"{}\"\n", evil.display()),
    );
    r.dvc(["track", "*.bin"]);
    r.write("a.bin", "hello\n");
    let out = r.git_run(["add", "a.bin"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr
            .contains("git-dvc: warning: 'cache.dir' in a committed .gitdvc.toml is ignored"),
        "{}",
        out.stderr
    );
    assert!(!evil.exists());
    assert!(r.object(&sha256(b"hello\n")).exists());
}
