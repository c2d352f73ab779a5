//! Trust: hostile or odd input (pathnames from Git, committed config) never
//! panics, and every message a new user meets says what is wrong and where.

use std::fs;
use std::sync::atomic::Ordering;

use crate::harness::{Env, Repo, data, pointer_for, sha256};
use crate::servers::HttpServer;

/// The blob id Git gives `bytes`, unfiltered.
fn git_blob_id(r: &Repo<'_>, bytes: &[u8]) -> String {
    let tmp = r.env.root().join("blob-for-hashing");
    fs::write(&tmp, bytes).unwrap();
    r.git(["hash-object", "--no-filters", tmp.to_str().unwrap()])
}

/// Git hands the filter pathnames that are not repo-relative paths:
/// `git hash-object --path=<anything>`. Clean works from the stream alone:
/// the content is stored and the pointer returned, with no panic and no
/// look at any file by that name.
#[test]
fn filter_cleans_from_the_stream_for_any_pathname_git_sends() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.write("a.bin", data(1, 5000));
    r.commit_all("v1");
    let v = data(2, 3000);
    r.write("f", &v);
    let outside = env.root().join("x.bin");
    fs::write(&outside, data(3, 3000)).unwrap();
    let want = git_blob_id(&r, pointer_for(&v).as_bytes());
    for path in [
        outside.to_str().unwrap(),
        "/tmp/x.bin",
        "../x.bin",
        "sub/../../x.bin",
    ] {
        let out = r.git_run(["hash-object", &format!("--path={path}"), "f"]);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "--path={path}");
        assert_eq!(out.stdout, want, "--path={path}");
    }
    // With `-w` the pointer is what Git stores, and the content is cached.
    let out = r.git_run(["hash-object", "-w", "--path=/tmp/x.bin", "f"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(out.stdout, want);
    assert_eq!(fs::read(r.object(&sha256(&v))).unwrap(), v);
    // Every file tracked: Git sends an empty pathname for `--path=`, and
    // `.` for `--path=.`.
    let q = env.repo("q");
    q.write(".gitattributes", "* filter=dvc -text\n");
    q.write("f", &v);
    for path in ["", "."] {
        let out = q.git_run(["hash-object", &format!("--path={path}"), "f"]);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "--path={path}");
        assert_eq!(out.stdout, want, "--path={path}");
    }
    // The one-shot filter, given an empty `%f`.
    let out = r
        .env
        .cmd(&r.path, "git-dvc")
        .args(["clean", ""])
        .stdin(fs::File::open(r.path.join("f")).unwrap())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, pointer_for(&v).as_bytes());
    assert_eq!(r.status(), "?? f\n");
}

/// A committed `.gitdvc.toml` is whatever its author wrote: a key of the
/// wrong type is an error that names the file and the key, never a panic.
#[test]
fn committed_config_of_the_wrong_shape_is_a_clear_error() {
    let env = Env::new();
    let r = env.repo("p");
    let file = r.path.join(".gitdvc.toml");
    for (text, key, found) in [
        ("remote = \"oops\"\n", "remote", "a string"),
        ("core = 5\n", "core", "an integer"),
        ("[remote]\nstorage = \"x\"\n", "remote.storage", "a string"),
        (
            "[remote.storage]\nurl = 3\n",
            "remote.storage.url",
            "an integer",
        ),
        (
            "[transfer]\njobs = -1\n",
            "transfer.jobs",
            "a negative integer",
        ),
    ] {
        r.write(".gitdvc.toml", text);
        for args in [
            &["remote", "add", "-d", "--force", "storage", "/x"][..],
            &["remote", "list"][..],
            &["push"][..],
        ] {
            let out = r.dvc_run(args);
            assert_eq!(
                (out.code, out.stderr),
                (
                    1,
                    format!(
                        "git-dvc: error: invalid configuration: '{key}' must be {}, not {found} ({})\n",
                        match key {
                            "remote.storage.url" => "a string",
                            "transfer.jobs" => "a non-negative integer",
                            _ => "a table",
                        },
                        file.display()
                    )
                ),
                "{text:?} {args:?}"
            );
        }
        assert_eq!(String::from_utf8(r.read(".gitdvc.toml")).unwrap(), text);
    }
}

/// A remote URL that names no bucket or no host is refused, and nothing is
/// recorded.
#[test]
fn remote_urls_without_bucket_or_host_are_refused() {
    let env = Env::new();
    let r = env.repo("p");
    for (url, what) in [
        (
            "s3:///no-bucket",
            "names no bucket: use s3://<bucket>/<prefix>",
        ),
        ("s3://", "names no bucket: use s3://<bucket>/<prefix>"),
        ("http:///x", "names no host: use http(s)://<host>/<prefix>"),
        ("http://", "names no host: use http(s)://<host>/<prefix>"),
        (
            "https://:8080/x",
            "names no host: use http(s)://<host>/<prefix>",
        ),
    ] {
        let out = r.dvc_run(["remote", "add", "bad", url]);
        assert_eq!(
            (out.code, out.stderr),
            (1, format!("git-dvc: error: remote URL {url:?} {what}\n")),
        );
        let out = r.dvc_run(["remote", "set", "bad", "url", url]);
        assert_eq!(out.code, 1, "{url}");
    }
    assert!(!r.path.join(".gitdvc.toml").exists());
    assert_eq!(r.dvc(["remote", "list"]).stdout, "");
}

/// A relative directory URL is accepted, recorded as given, and resolved
/// against the worktree root (not the current directory) when used, in
/// every clone.
#[test]
fn relative_directory_remote_is_relative_to_the_worktree_root() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.dvc(["remote", "add", "-d", "store", "../store"]);
    assert_eq!(
        String::from_utf8(r.read(".gitdvc.toml")).unwrap(),
        "[remote.store]\nurl = \"../store\"\n\n[core]\nremote = \"store\"\n"
    );
    let v = data(9, 4000);
    r.write("sub/a.bin", &v);
    r.commit_all("v1");
    let out = env.ok(&r.path.join("sub"), "git-dvc", ["push"]);
    assert_eq!(out.stderr, "Uploaded 1 object (3.9 KiB) to 'store'.\n");
    let h = sha256(&v);
    assert_eq!(
        fs::read(env.root().join("store").join(&h[..2]).join(&h[2..])).unwrap(),
        v
    );
    // A clone next to it finds the same directory from its own root.
    env.ok(env.root(), "git", ["clone", "-q", "p", "fresh"]);
    let c = env.at(env.root().join("fresh"));
    assert_eq!(c.read("sub/a.bin"), v);
}

/// A mistyped remote name is not reported as a bad revision only.
#[test]
fn push_to_a_mistyped_remote_names_the_remotes() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.write("a.bin", data(4, 100));
    r.commit_all("v1");
    let out = r.dvc_run(["push", "rel"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "git-dvc: error: no remote or revision is named 'rel' (no remotes are configured)\n"
        )
    );
    let store = env.root().join("store");
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.dvc([
        "remote",
        "add",
        "--local",
        "backup",
        store.to_str().unwrap(),
    ]);
    for cmd in ["push", "fetch"] {
        let out = r.dvc_run([cmd, "rel"]);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (
                1,
                "git-dvc: error: no remote or revision is named 'rel' (remotes: backup, storage)\n"
            ),
            "{cmd}"
        );
    }
    // A revision still works in that place.
    r.dvc(["push", "HEAD"]);
}

/// An HTTP server that will not take PUT is reported as such, with what it
/// answered: the remote was not configured read-only. 501 is not retried.
#[test]
fn http_server_refusing_put_says_what_it_answered() {
    let env = Env::new();
    let store = env.root().join("store");
    let http = HttpServer::start(&store);
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let v = data(6, 2000);
    r.write("a.bin", &v);
    r.commit_all("v1");
    r.dvc(["remote", "add", "-d", "web", &http.url]);
    let h = sha256(&v);
    let url = format!("{}/{}/{}", http.url, &h[..2], &h[2..]);
    for (status, answer) in [
        (405, "405 Method Not Allowed"),
        (501, "501 Not Implemented"),
    ] {
        http.faults.put_status.store(status, Ordering::SeqCst);
        let puts = http.faults.puts.load(Ordering::SeqCst);
        let out = r.dvc_run(["push"]);
        assert_eq!(
            (out.code, out.stderr),
            (
                1,
                format!(
                    "git-dvc: error: remote 'web' does not accept PUT {url}: the server answered HTTP {answer} (a.bin)\ngit-dvc: error: 1 of 1 objects failed to transfer (remote 'web')\n"
                )
            )
        );
        assert_eq!(
            http.faults.puts.load(Ordering::SeqCst),
            puts + 1,
            "not retried"
        );
    }
}

/// A directory remote whose directory is not there says so, for fetch,
/// pull, checkout and fsck, instead of "not on remote" or "all good".
#[test]
fn missing_directory_remote_says_the_directory_does_not_exist() {
    let env = Env::new();
    let store = env.root().join("store");
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    let files: Vec<Vec<u8>> = (0..3).map(|i| data(20 + i, 1000)).collect();
    for (i, f) in files.iter().enumerate() {
        r.write(&format!("f{i}.bin"), f);
    }
    r.commit_all("v1");
    r.dvc(["push"]);
    let moved = env.root().join("store-moved");
    fs::rename(&store, &moved).unwrap();
    fs::remove_dir_all(r.cache()).unwrap();
    let msg = format!(
        "git-dvc: error: the directory of remote 'storage' does not exist ({})\n",
        store.display()
    );

    let out = r.dvc_run(["fetch"]);
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!("{msg}git-dvc: error: 3 of 3 objects failed to transfer (remote 'storage')\n")
        )
    );
    let out = r.dvc_run(["fsck", "--remote", "storage"]);
    assert_eq!((out.code, out.stderr), (1, msg.clone()));

    // A checkout warns with the same reason.
    fs::remove_file(r.path.join("f0.bin")).unwrap();
    let out = r.git_run(["checkout", "--", "f0.bin"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains(&format!(
            "the directory of remote 'storage' does not exist ({})",
            store.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(r.read("f0.bin"), pointer_for(&files[0]).as_bytes());

    // Once it is back, all is well.
    fs::rename(&moved, &store).unwrap();
    r.dvc(["pull"]);
    assert_eq!(r.read("f0.bin"), files[0]);
    let out = r.dvc(["fsck", "--remote", "storage"]);
    assert_eq!(
        out.stderr,
        "Checked 3 objects on remote 'storage': all good.\n"
    );
}

/// A URL that `remote add` refuses is refused the same way when it comes
/// from a committed file instead.
#[test]
fn committed_remote_url_without_a_host_is_refused_when_used() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.write("a.bin", data(8, 100));
    r.write(
        ".gitdvc.toml",
        "[core]\nremote = \"web\"\n[remote.web]\nurl = \"http:///x\"\n",
    );
    r.commit_all("v1");
    let out = r.dvc_run(["push"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "git-dvc: error: remote 'web' is misconfigured: remote URL \"http:///x\" names no host: use http(s)://<host>/<prefix>\n"
        )
    );
}
