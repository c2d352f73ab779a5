//! Remotes and transfers: the dataset-versioning story with S3, clones that
//! fetch by themselves, push through `git push`, and every failure path the
//! network can produce.

use std::fs;
use std::sync::atomic::Ordering;

use crate::harness::{Env, Repo, data, pointer_for, sha256};
use crate::servers::{HttpServer, S3_SECRET, S3Server, walk};

/// Objects under a directory remote (relative `ab/cdef…` paths).
fn remote_objects(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn key(bytes: &[u8]) -> String {
    let h = sha256(bytes);
    format!("{}/{}", &h[..2], &h[2..])
}

/// Story 004: version datasets, push them to S3, drop the local cache, and
/// still restore an old version with a plain `git checkout`.
#[test]
fn s3_push_drop_cache_and_restore_an_old_version() {
    let env = Env::new();
    let s3 = S3Server::start(&env.root().join("s3"), "bucket");
    env.s3_credentials(S3_SECRET);
    let r = env.repo("mnist3d");
    r.dvc(["track", "datasets/**"]);
    let adrenal_v1 = data(1, 300_000);
    let fracture_v1 = data(2, 200_000);
    r.write("datasets/adrenalmnist3d.npz", &adrenal_v1);
    r.write("datasets/fracturemnist3d.npz", &fracture_v1);
    r.dvc([
        "remote",
        "add",
        "-d",
        "storage",
        "s3://bucket/mnist3d_cache",
        "--endpoint",
        &s3.endpoint,
    ]);
    r.commit_all("full datasets");
    r.git(["tag", "v1"]);

    let st = r.dvc(["status", "--remote"]).stdout;
    assert_eq!(
        st,
        "Not on remote (run `git dvc push`):\n\tdatasets/adrenalmnist3d.npz\n\tdatasets/fracturemnist3d.npz\n"
    );
    let out = r.dvc(["push"]);
    assert_eq!(out.stderr, "Uploaded 2 objects (488.3 KiB) to 'storage'.\n");
    assert_eq!(
        r.dvc(["status", "--remote"]).stdout,
        "Everything is up to date.\n"
    );

    let adrenal_v2 = data(3, 1000);
    let fracture_v2 = data(4, 1000);
    r.write("datasets/adrenalmnist3d.npz", &adrenal_v2);
    r.write("datasets/fracturemnist3d.npz", &fracture_v2);
    r.commit_all("resampled to 100");
    let out = r.dvc(["push"]);
    assert_eq!(out.stderr, "Uploaded 2 objects (2.0 KiB) to 'storage'.\n");
    let out = r.dvc(["push"]);
    assert_eq!(
        out.stderr,
        "Uploaded 0 objects (0 B) to 'storage', 2 already there.\n"
    );

    let mut want = vec![
        key(&adrenal_v1),
        key(&fracture_v1),
        key(&adrenal_v2),
        key(&fracture_v2),
    ];
    want.sort();
    assert_eq!(s3.objects("bucket/mnist3d_cache"), want);

    // Drop the whole local cache, as a gc of old versions would.
    fs::remove_dir_all(r.cache()).unwrap();
    let out = r.git_run(["checkout", "-q", "v1"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(r.read("datasets/adrenalmnist3d.npz"), adrenal_v1);
    assert_eq!(r.read("datasets/fracturemnist3d.npz"), fracture_v1);
    assert_eq!(r.status(), "");
}

/// Objects over the multipart threshold go up in parts and come back whole.
#[test]
fn s3_multipart_upload_of_a_large_object() {
    let env = Env::new();
    let s3 = S3Server::start(&env.root().join("s3"), "bucket");
    env.s3_credentials(S3_SECRET);
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let big = data(9, (64 << 20) + 12345);
    r.write("big.bin", &big);
    r.commit_all("big");
    r.dvc([
        "remote",
        "add",
        "-d",
        "storage",
        "s3://bucket",
        "--endpoint",
        &s3.endpoint,
    ]);
    r.dvc(["push"]);
    assert_eq!(s3.objects("bucket"), vec![key(&big)]);
    fs::remove_dir_all(r.cache()).unwrap();
    fs::remove_file(r.path.join("big.bin")).unwrap();
    let out = r.git_run(["checkout", "--", "big.bin"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert!(r.read("big.bin") == big);
}

/// A repo with one committed tracked file, `a.bin` (`v`), whose default
/// remote is `s3://bucket/x` on `s3`.
fn one_file_for_s3<'e>(env: &'e Env, s3: &S3Server, v: &[u8]) -> Repo<'e> {
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    r.write("a.bin", v);
    r.commit_all("v1");
    r.dvc([
        "remote",
        "add",
        "-d",
        "storage",
        "s3://bucket/x",
        "--endpoint",
        &s3.endpoint,
    ]);
    r
}

/// Wrong credentials: an exact error, no retries, nothing uploaded.
#[test]
fn wrong_s3_credentials_are_refused() {
    let env = Env::new();
    let s3 = S3Server::start(&env.root().join("s3"), "bucket");
    env.s3_credentials("not-the-secret");
    let v = data(5, 100);
    let r = one_file_for_s3(&env, &s3, &v);
    let started = std::time::Instant::now();
    let out = r.dvc_run(["push"]);
    assert_eq!(out.code, 1);
    let first = out.stderr.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "git-dvc: error: remote 'storage' refused access: look up {}: 403",
            sha256(&v)
        )),
        "{}",
        out.stderr
    );
    assert!(first.ends_with(" (a.bin)"), "{first}");
    assert_eq!(
        out.stderr.lines().last().unwrap(),
        "git-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')"
    );
    assert!(started.elapsed().as_secs() < 5, "a refusal is not retried");
    assert!(s3.objects("bucket/x").is_empty());
}

fn origin_with_dir_remote(env: &Env) -> (Repo<'_>, std::path::PathBuf, Vec<Vec<u8>>) {
    let store = env.root().join("store");
    let r = env.repo("origin");
    r.dvc(["track", "data/**"]);
    let files: Vec<Vec<u8>> = (0..12).map(|i| data(40 + i, 20_000 + i as usize)).collect();
    for (i, f) in files.iter().enumerate() {
        r.write(&format!("data/{i:02}.bin"), f);
    }
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("v1");
    let out = r.dvc(["push"]);
    assert_eq!(
        out.stderr,
        "Uploaded 12 objects (234.4 KiB) to 'storage'.\n"
    );
    (r, store, files)
}

/// With git-dvc installed globally, `git clone` gives real data with no
/// extra command: the remote comes from the committed .gitdvc.toml.
#[test]
fn clone_fetches_data_by_itself() {
    let env = Env::new();
    let (_origin, store, files) = origin_with_dir_remote(&env);
    assert_eq!(remote_objects(&store).len(), 12);
    let out = env.ok(env.root(), "git", ["clone", "-q", "origin", "fresh"]);
    assert_eq!(out.stderr, "");
    let c = env.at(env.root().join("fresh"));
    for (i, f) in files.iter().enumerate() {
        assert_eq!(&c.read(&format!("data/{i:02}.bin")), f);
    }
    assert_eq!(c.status(), "");
    assert!(
        c.path.join(".git/hooks/pre-push").is_file(),
        "hooks come with the clone"
    );
}

/// A fresh clone: Git writes each file's pointer while its object
/// downloads, and git-dvc writes the content as each object lands (once
/// Git has moved past the file) or else once Git is done. Every file is
/// right and its stat data is in the index (no file is read again:
/// `git diff-files` is quiet before anything refreshes it);
/// an object the remote lacks leaves only its own file a pointer, named in
/// the one warning; nothing is left in the cache's temp directory.
#[test]
fn a_clone_writes_the_downloaded_files_once_git_is_done() {
    let env = Env::new();
    let (_origin, store, files) = origin_with_dir_remote(&env);
    fs::remove_file(store.join(key(&files[5]))).unwrap();
    let out = env.run(env.root(), "git", ["clone", "-q", "origin", "fresh"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: warning: 1 file (data/05.bin) left as pointers: they could not be fetched (data/05.bin: object {} is not on remote 'storage'); run `git dvc pull` to fetch them\n",
            sha256(&files[5])
        )
    );
    let c = env.at(env.root().join("fresh"));
    for (i, f) in files.iter().enumerate() {
        let got = c.read(&format!("data/{i:02}.bin"));
        if i == 5 {
            assert_eq!(got, pointer_for(f).as_bytes());
        } else {
            assert_eq!(&got, f, "data/{i:02}.bin");
        }
    }
    let unrefreshed = c.git(["diff-files", "--name-only"]);
    assert_eq!(unrefreshed, "", "the index holds every file's stat data");
    assert_eq!(c.status(), "");
    let temps = fs::read_dir(c.cache().join("tmp")).map_or(0, Iterator::count);
    assert_eq!(temps, 0, "no temp file left");
}

/// A checkout of many missing files downloads them in parallel (delayed
/// smudge), not one request per file in series.
#[test]
fn missing_objects_download_in_parallel_over_http() {
    let env = Env::new();
    let (origin, store, files) = origin_with_dir_remote(&env);
    let http = HttpServer::start(&store);
    http.faults.delay_ms.store(150, Ordering::SeqCst);
    origin.dvc(["remote", "set", "storage", "url", &http.url]);
    origin.dvc(["remote", "set", "storage", "read_only", "true"]);
    origin.commit_all("registry over http");
    let started = std::time::Instant::now();
    let out = env.ok(env.root(), "git", ["clone", "-q", "origin", "fresh"]);
    assert_eq!(out.stderr, "");
    let c = env.at(env.root().join("fresh"));
    for (i, f) in files.iter().enumerate() {
        assert_eq!(&c.read(&format!("data/{i:02}.bin")), f);
    }
    assert_eq!(http.faults.gets.load(Ordering::SeqCst), 12);
    assert!(
        http.faults.max_in_flight.load(Ordering::SeqCst) >= 4,
        "downloads overlap"
    );
    assert!(
        started.elapsed().as_millis() < 12 * 150,
        "not one request after another"
    );
}

/// `git push` uploads the data first; a failed upload stops the push, so
/// the Git remote never names data the data remote lacks.
#[test]
fn git_push_uploads_first_and_a_failed_upload_stops_it() {
    let env = Env::new();
    let store = env.root().join("store");
    env.ok(env.root(), "git", ["init", "-q", "--bare", "hub.git"]);
    let r = env.repo("p");
    r.dvc(["install", "--local"]);
    r.git([
        "remote",
        "add",
        "origin",
        env.root().join("hub.git").to_str().unwrap(),
    ]);
    r.dvc(["track", "*.bin"]);
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    let v1 = data(1, 5000);
    r.write("a.bin", &v1);
    r.commit_all("v1");
    let out = r.git_run(["push", "-q", "origin", "main"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "Uploaded 1 object (4.9 KiB) to 'storage'.\n");
    assert_eq!(remote_objects(&store), vec![key(&v1)]);

    // Now the data remote refuses writes: the push must not happen.
    let http = HttpServer::start(&store);
    r.dvc(["remote", "set", "storage", "url", &http.url]);
    let v2 = data(2, 6000);
    r.write("a.bin", &v2);
    r.commit_all("v2");
    let before = env
        .ok(&env.root().join("hub.git"), "git", ["rev-parse", "main"])
        .stdout;
    http.faults.read_only.store(true, Ordering::SeqCst);
    let out = r.git_run(["push", "origin", "main"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.starts_with(&format!(
            "git-dvc: error: remote 'storage' does not accept PUT {}/{}: the server answered HTTP 405 Method Not Allowed (a.bin)\ngit-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')\n",
            http.url,
            key(&v2)
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("error: failed to push some refs"),
        "{}",
        out.stderr
    );
    let after = env
        .ok(&env.root().join("hub.git"), "git", ["rev-parse", "main"])
        .stdout;
    assert_eq!(before, after, "the ref did not move");
    // Only the v1 commit's data was ever sent; v2 is not on the remote.
    assert_eq!(remote_objects(&store), vec![key(&v1)]);
    // A config of read_only = true refuses before any request.
    r.dvc(["remote", "set", "storage", "read_only", "true"]);
    let puts = http.faults.puts.load(Ordering::SeqCst);
    let out = r.dvc_run(["push"]);
    assert_eq!(out.code, 1);
    assert_eq!(http.faults.puts.load(Ordering::SeqCst), puts);
}

/// Transient 500s are retried with backoff, then the fetch succeeds.
#[test]
fn server_errors_are_retried() {
    let env = Env::new();
    let (origin, store, files) = origin_with_dir_remote(&env);
    let http = HttpServer::start(&store);
    origin.dvc(["remote", "set", "--local", "storage", "url", &http.url]);
    fs::remove_dir_all(origin.cache()).unwrap();
    http.faults.fail_first.store(3, Ordering::SeqCst);
    let out = origin.dvc(["fetch"]);
    assert_eq!(
        out.stderr,
        "Downloaded 12 objects (234.4 KiB) from 'storage'.\n"
    );
    for f in &files {
        assert!(origin.object(&sha256(f)).is_file());
    }
}

fn one_file_over_http(env: &Env) -> (Repo<'_>, HttpServer, Vec<u8>) {
    let store = env.root().join("store");
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let v = data(77, 100_000);
    r.write("a.bin", &v);
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("v1");
    r.dvc(["push"]);
    let http = HttpServer::start(&store);
    r.dvc(["remote", "set", "--local", "storage", "url", &http.url]);
    fs::remove_dir_all(r.cache()).unwrap();
    (r, http, v)
}

/// A body cut short is retried, and when it stays short nothing is stored.
#[test]
fn a_body_cut_short_is_never_stored() {
    let env = Env::new();
    let (r, http, v) = one_file_over_http(&env);
    http.faults.truncate.store(true, Ordering::SeqCst);
    let out = r.dvc_run(["fetch"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(
        lines[0].starts_with("git-dvc: error: remote 'storage': ")
            && lines[0].ends_with(" (a.bin)"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "git-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')"
    );
    assert_eq!(http.faults.gets.load(Ordering::SeqCst), 5, "retried");
    assert!(!r.object(&sha256(&v)).exists());
    let leftovers = fs::read_dir(r.cache().join("tmp"))
        .map(std::iter::Iterator::count)
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "no partial file left");
}

/// A server serving wrong bytes: refused by name, nothing stored, and a
/// checkout leaves the pointer rather than wrong content.
#[test]
fn wrong_bytes_from_a_server_are_refused() {
    let env = Env::new();
    let (r, http, v) = one_file_over_http(&env);
    http.faults.corrupt.store(true, Ordering::SeqCst);
    let mut bad = v.clone();
    bad[0] ^= 0xff;
    let out = r.dvc_run(["fetch"]);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: remote 'storage' served wrong content for object {} (it hashed to {}); nothing was stored (a.bin)\ngit-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')\n",
            sha256(&v),
            sha256(&bad)
        )
    );
    assert!(!r.object(&sha256(&v)).exists());
    fs::remove_file(r.path.join("a.bin")).unwrap();
    let out = r.git_run(["checkout", "--", "a.bin"]);
    assert_eq!(out.code, 0);
    assert_eq!(r.read("a.bin"), pointer_for(&v).as_bytes());
    assert!(
        out.stderr.contains("served wrong content"),
        "{}",
        out.stderr
    );
}

/// Offline: the checkout succeeds with pointers and a warning; `git dvc
/// pull` finishes the job once the remote is reachable.
#[test]
fn offline_checkout_then_pull() {
    let env = Env::new();
    let (origin, store, files) = origin_with_dir_remote(&env);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    origin.dvc(["remote", "set", "storage", "url", &dead]);
    origin.commit_all("remote moved");
    let out = env.run(env.root(), "git", ["clone", "-q", "origin", "fresh"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // One warning, as the contract promises: which files, and why.
    assert!(
        out.stderr.starts_with("git-dvc: warning: 12 files (data/00.bin, data/01.bin, data/02.bin, data/03.bin, data/04.bin, and 7 more) left as pointers: they could not be fetched (data/00.bin: remote 'storage': "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with(", and 11 more); run `git dvc pull` to fetch them\n"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let c = env.at(env.root().join("fresh"));
    assert_eq!(c.read("data/00.bin"), pointer_for(&files[0]).as_bytes());
    assert_eq!(c.status(), "");
    c.dvc([
        "remote",
        "set",
        "--local",
        "storage",
        "url",
        store.to_str().unwrap(),
    ]);
    let out = c.dvc(["pull"]);
    assert_eq!(
        out.stderr,
        "Downloaded 12 objects (234.4 KiB) from 'storage'.\nChecked out 12 files.\n"
    );
    for (i, f) in files.iter().enumerate() {
        assert_eq!(&c.read(&format!("data/{i:02}.bin")), f);
    }
    assert_eq!(c.status(), "");
}

/// A push killed halfway leaves only whole, correct objects on the remote;
/// running it again finishes the job.
#[test]
fn killed_push_then_rerun() {
    let env = Env::new();
    let store = env.root().join("store");
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    for i in 0..24 {
        r.write(&format!("f{i}.bin"), data(200 + i, 3 << 20));
    }
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("v1");
    let mut child = r.spawn_dvc(["push", "--quiet"]);
    std::thread::sleep(std::time::Duration::from_millis(60));
    let _ = child.kill();
    let _ = child.wait();
    for rel in remote_objects(&store) {
        let bytes = fs::read(store.join(&rel)).unwrap();
        assert_eq!(
            rel,
            key(&bytes),
            "only whole, correct objects under object names"
        );
    }
    r.dvc(["push"]);
    assert_eq!(remote_objects(&store).len(), 24);
    for rel in remote_objects(&store) {
        assert_eq!(rel, key(&fs::read(store.join(&rel)).unwrap()));
    }
}

/// HTTP Basic credentials come from `git credential` (here a store helper).
#[test]
fn http_credentials_from_git_credential() {
    let env = Env::new();
    let (r, http, v) = one_file_over_http(&env);
    *http.faults.basic_auth.lock().unwrap() = Some("alice:s3cret".into());
    let out = r.dvc_run(["fetch"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("refused access"), "{}", out.stderr);
    let creds = env.root().join("creds");
    let url = http.url.replace("http://", "");
    fs::write(&creds, format!("http://alice:s3cret@{url}\n")).unwrap();
    env.ok(
        env.root(),
        "git",
        [
            "config",
            "--global",
            "credential.helper",
            &format!("store --file={}", creds.display()),
        ],
    );
    let out = r.dvc(["fetch"]);
    assert_eq!(
        out.stderr,
        "Downloaded 1 object (97.7 KiB) from 'storage'.\n"
    );
    assert!(r.object(&sha256(&v)).exists());
}

/// On a terminal, a transfer shows one progress line that counts objects
/// and bytes; in a pipe (scripts, CI logs) it prints only its summary.
#[test]
fn transfers_show_progress_on_a_terminal_only() {
    let env = Env::new();
    let (origin, store, _files) = origin_with_dir_remote(&env);
    let http = HttpServer::start(&store);
    // Slow enough that the line is drawn before the last object lands.
    http.faults.delay_ms.store(200, Ordering::SeqCst);
    origin.dvc(["remote", "set", "storage", "url", &http.url]);
    fs::remove_dir_all(origin.cache()).unwrap();
    // `script` runs the command on a pseudo-terminal and copies what it
    // drew to stdout.
    let out = env.ok(
        &origin.path,
        "script",
        ["-qefc", "git-dvc fetch", "/dev/null"],
    );
    assert!(
        out.stdout.contains("Downloading 0/12 objects ["),
        "{:?}",
        out.stdout
    );
    assert!(out.stdout.contains("0 B/234.44 KiB"), "{:?}", out.stdout);
    assert!(
        out.stdout
            .ends_with("Downloaded 12 objects (234.4 KiB) from 'storage'.\r\n"),
        "{:?}",
        out.stdout
    );
    fs::remove_dir_all(origin.cache()).unwrap();
    let out = origin.dvc(["fetch"]);
    assert_eq!(
        out.stderr,
        "Downloaded 12 objects (234.4 KiB) from 'storage'.\n"
    );
    // A clone's filter draws the same line as Git hands it the files.
    origin.commit_all("over http");
    let out = env.ok(
        env.root(),
        "script",
        ["-qefc", "git clone -q origin fresh", "/dev/null"],
    );
    assert!(
        out.stdout.contains("git-dvc: downloading 0/1 object ["),
        "{:?}",
        out.stdout
    );
    assert!(out.stdout.contains("/12 objects ["), "{:?}", out.stdout);
    let out = env.ok(env.root(), "git", ["clone", "-q", "origin", "piped"]);
    assert_eq!(out.stderr, "");
}

/// No credentials anywhere: one line that names the remote, the object and
/// the file, says what is missing and where git-dvc looks, without the SDK's
/// internals; nothing is retried.
#[test]
fn missing_s3_credentials_are_named_in_one_line() {
    let env = Env::new();
    let s3 = S3Server::start(&env.root().join("s3"), "bucket");
    let v = data(6, 100);
    let r = one_file_for_s3(&env, &s3, &v);
    let started = std::time::Instant::now();
    let out = r.dvc_run(["push"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: remote 'storage' refused access: look up {}: no AWS credentials: \
             the credential provider was not enabled: no providers in chain provided credentials \
             (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws) (a.bin)\n\
             git-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')\n",
            sha256(&v)
        )
    );
    assert!(started.elapsed().as_secs() < 5, "a refusal is not retried");
    assert!(s3.objects("bucket/x").is_empty());
}

/// A bucket in another region than the one asked: S3 answers a HEAD with
/// a bare 301 and the bucket's region in a header. The error says the
/// status in words and the one command that fixes it, and is not retried.
#[test]
fn a_bucket_in_another_region_is_named_with_the_fix() {
    let env = Env::new();
    let s3 = S3Server::start(&env.root().join("s3"), "bucket");
    env.s3_credentials(S3_SECRET);
    let v = data(7, 100);
    let r = one_file_for_s3(&env, &s3, &v);
    *s3.faults.bucket_region.lock().unwrap() = Some("eu-west-3".into());
    let started = std::time::Instant::now();
    let out = r.dvc_run(["push"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: remote 'storage': look up {}: 301 Moved Permanently \
             (bucket 'bucket' is in region 'eu-west-3': git dvc remote set storage region eu-west-3) (a.bin)\n\
             git-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')\n",
            sha256(&v)
        )
    );
    assert!(
        started.elapsed().as_secs() < 5,
        "a wrong region is not retried"
    );
    // Set as it says, the region is no longer the complaint.
    r.dvc(["remote", "set", "storage", "region", "eu-west-3"]);
    let out = r.dvc_run(["push"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(": 301 Moved Permanently (a.bin)"),
        "{}",
        out.stderr
    );
}
