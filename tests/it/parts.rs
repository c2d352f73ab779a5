//! Big objects move in parts: S3 multipart uploads and ranged GETs from S3
//! and HTTP servers, `[transfer] part_jobs` at a time, each part retried
//! on its own, and the whole object verified before it enters the cache.

use std::fs;
use std::sync::atomic::Ordering;

use crate::harness::{Env, Repo, data, flip_byte, sha256};
use crate::servers::{HttpServer, S3_SECRET, S3Server};

const MIB: usize = 1 << 20;
/// Four parts of 5 MiB (S3's smallest) and a short last one.
const BIG: usize = 20 * MIB + 4321;

/// Parts of 5 MiB, three in flight, set in the user's own config.
fn five_mib_parts(env: &Env) {
    env.user_config("[transfer]\npart_size = \"5MiB\"\npart_jobs = 3\n");
}

/// A repository holding `big.bin` (`BIG` bytes), its default remote `url`.
fn repo_with_big_file<'a>(env: &'a Env, url: &str, endpoint: Option<&str>) -> (Repo<'a>, Vec<u8>) {
    let r = env.repo("origin");
    r.dvc(["track", "*.bin"]);
    let big = data(2024, BIG);
    r.write("big.bin", &big);
    let mut add = vec!["remote", "add", "-d", "storage", url];
    if let Some(e) = endpoint {
        add.extend(["--endpoint", e]);
    }
    r.dvc(add);
    r.commit_all("big");
    (r, big)
}

/// Files s3s-fs keeps for multipart uploads not yet completed or aborted.
fn pending_uploads(s3: &S3Server) -> Vec<String> {
    fs::read_dir(&s3.root)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(".upload_id-"))
        .collect()
}

fn s3_with_big_file(env: &Env) -> (S3Server, Repo<'_>, Vec<u8>) {
    let s3 = S3Server::start(&env.root().join("s3"), "bucket");
    env.s3_credentials(S3_SECRET);
    five_mib_parts(env);
    let (r, big) = repo_with_big_file(env, "s3://bucket/data", Some(&s3.endpoint.clone()));
    (s3, r, big)
}

/// A 20 MiB file goes to S3 as five parts of a multipart upload and comes
/// back, in a fresh clone, as five ranged GETs: the same bytes.
#[test]
fn a_big_file_goes_to_s3_in_parts_and_a_clone_gets_it_back_whole() {
    let env = Env::new();
    let (s3, r, big) = s3_with_big_file(&env);
    let out = r.dvc(["push"]);
    assert_eq!(out.stderr, "Uploaded 1 object (20.0 MiB) to 'storage'.\n");
    assert_eq!(s3.faults.part_uploads.load(Ordering::SeqCst), 5);
    assert!(pending_uploads(&s3).is_empty());
    let h = sha256(&big);
    assert_eq!(
        s3.objects("bucket/data"),
        vec![format!("{}/{}", &h[..2], &h[2..])]
    );

    let out = env.ok(env.root(), "git", ["clone", "-q", "origin", "fresh"]);
    assert_eq!(out.stderr, "");
    let c = env.at(env.root().join("fresh"));
    assert!(c.read("big.bin") == big, "the same bytes");
    assert_eq!(c.status(), "");
    assert_eq!(s3.faults.ranged_gets.load(Ordering::SeqCst), 5);
    let leftovers = fs::read_dir(c.cache().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "no temp file left");
}

/// A 500 on one part of the upload retries that part only.
#[test]
fn a_failed_part_upload_is_retried_alone() {
    let env = Env::new();
    let (s3, r, big) = s3_with_big_file(&env);
    s3.faults.fail_part_uploads.store(1, Ordering::SeqCst);
    let out = r.dvc(["push"]);
    assert_eq!(out.stderr, "Uploaded 1 object (20.0 MiB) to 'storage'.\n");
    assert_eq!(
        s3.faults.part_uploads.load(Ordering::SeqCst),
        6,
        "5 parts, 1 again"
    );
    assert!(pending_uploads(&s3).is_empty());

    fs::remove_dir_all(r.cache()).unwrap();
    r.dvc(["fetch"]);
    assert!(fs::read(r.object(&sha256(&big))).unwrap() == big);
}

/// An upload whose part keeps failing fails the push, with the object and
/// remote named, and the multipart upload is aborted: the store keeps no
/// parts.
#[test]
fn a_multipart_upload_that_fails_is_aborted() {
    let env = Env::new();
    let (s3, r, _big) = s3_with_big_file(&env);
    s3.faults.fail_part_uploads.store(1000, Ordering::SeqCst);
    let out = r.dvc_run(["push"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(
        lines[0].starts_with("git-dvc: error: remote 'storage': upload part ")
            && lines[0].contains("(gave up after 5 attempts)")
            && lines[0].ends_with(" (big.bin)"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "git-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')"
    );
    assert!(pending_uploads(&s3).is_empty(), "aborted");
    assert!(s3.objects("bucket/data").is_empty());
}

/// A 500 on one ranged GET retries that part, and the download completes.
#[test]
fn a_failed_part_download_from_s3_is_retried_alone() {
    let env = Env::new();
    let (s3, r, big) = s3_with_big_file(&env);
    r.dvc(["push"]);
    fs::remove_dir_all(r.cache()).unwrap();
    *s3.faults.fail_range_at.lock().unwrap() = Some(10 * MIB as u64);
    let out = r.dvc(["fetch"]);
    assert_eq!(
        out.stderr,
        "Downloaded 1 object (20.0 MiB) from 'storage'.\n"
    );
    assert_eq!(s3.faults.ranged_gets.load(Ordering::SeqCst), 5);
    assert_eq!(
        *s3.faults.fail_range_at.lock().unwrap(),
        None,
        "it failed once"
    );
    assert!(fs::read(r.object(&sha256(&big))).unwrap() == big);
}

/// The same file through a static HTTP server: pushed with one PUT, and
/// cloned back as five ranged GETs.
fn http_with_big_file(env: &Env) -> (HttpServer, Repo<'_>, Vec<u8>) {
    let http = HttpServer::start(&env.root().join("store"));
    five_mib_parts(env);
    let (r, big) = repo_with_big_file(env, &http.url.clone(), None);
    let out = r.dvc(["push"]);
    assert_eq!(out.stderr, "Uploaded 1 object (20.0 MiB) to 'storage'.\n");
    (http, r, big)
}

#[test]
fn a_big_file_comes_down_from_http_in_ranged_parts() {
    let env = Env::new();
    let (http, _r, big) = http_with_big_file(&env);
    // Slow answers, so the parts in flight overlap visibly.
    http.faults.delay_ms.store(100, Ordering::SeqCst);
    let out = env.ok(env.root(), "git", ["clone", "-q", "origin", "fresh"]);
    assert_eq!(out.stderr, "");
    let c = env.at(env.root().join("fresh"));
    assert!(c.read("big.bin") == big, "the same bytes");
    assert_eq!(c.status(), "");
    assert_eq!(http.faults.ranged.load(Ordering::SeqCst), 5);
    assert_eq!(http.faults.gets.load(Ordering::SeqCst), 5);
    assert!(
        http.faults.max_in_flight.load(Ordering::SeqCst) >= 2,
        "parts overlap"
    );
}

/// A server that ignores `Range` and answers 200 with the whole file still
/// serves it: one GET, streamed as before.
#[test]
fn a_server_without_ranges_still_serves_big_files() {
    let env = Env::new();
    let (http, r, big) = http_with_big_file(&env);
    http.faults.ignore_range.store(true, Ordering::SeqCst);
    fs::remove_dir_all(r.cache()).unwrap();
    let out = r.dvc(["fetch"]);
    assert_eq!(
        out.stderr,
        "Downloaded 1 object (20.0 MiB) from 'storage'.\n"
    );
    assert_eq!(http.faults.gets.load(Ordering::SeqCst), 1);
    assert_eq!(http.faults.ranged.load(Ordering::SeqCst), 0);
    assert!(fs::read(r.object(&sha256(&big))).unwrap() == big);
}

/// One part served with a wrong byte: the download is refused with the
/// object and remote named, nothing is stored, and no temp file is left.
#[test]
fn one_corrupt_part_is_refused_and_nothing_is_stored() {
    let env = Env::new();
    let (http, r, big) = http_with_big_file(&env);
    let at = 15 * MIB;
    *http.faults.corrupt_range_at.lock().unwrap() = Some(at as u64);
    fs::remove_dir_all(r.cache()).unwrap();
    let out = r.dvc_run(["fetch"]);
    let mut bad = big.clone();
    bad[at] ^= 0xff;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: remote 'storage' served wrong content for object {} (it hashed to {}); nothing was stored (big.bin)\ngit-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')\n",
            sha256(&big),
            sha256(&bad)
        )
    );
    assert!(!r.object(&sha256(&big)).exists());
    assert_eq!(fs::read_dir(r.cache().join("tmp")).unwrap().count(), 0);
    assert_eq!(http.faults.ranged.load(Ordering::SeqCst), 5, "not retried");
}

/// A 500 on one ranged GET retries that part alone.
#[test]
fn a_failed_part_download_over_http_is_retried_alone() {
    let env = Env::new();
    let (http, r, big) = http_with_big_file(&env);
    *http.faults.fail_range_at.lock().unwrap() = Some(5 * MIB as u64);
    fs::remove_dir_all(r.cache()).unwrap();
    let out = r.dvc(["fetch"]);
    assert_eq!(
        out.stderr,
        "Downloaded 1 object (20.0 MiB) from 'storage'.\n"
    );
    assert_eq!(
        http.faults.gets.load(Ordering::SeqCst),
        6,
        "5 parts, 1 again"
    );
    assert_eq!(http.faults.ranged.load(Ordering::SeqCst), 5);
    assert!(fs::read(r.object(&sha256(&big))).unwrap() == big);
}

/// A download killed between parts leaves nothing under the object's name,
/// only its locked temp file, which gc keeps while the download runs and
/// removes once it is dead; a second fetch finishes the job.
#[test]
fn a_killed_download_in_parts_leaves_only_a_temp_that_gc_removes() {
    let env = Env::new();
    let (http, r, big) = http_with_big_file(&env);
    fs::remove_dir_all(r.cache()).unwrap();
    // Not in the worktree either (a refresh of the index would clean it
    // back into the cache).
    fs::remove_file(r.path.join("big.bin")).unwrap();
    let tmp = r.cache().join("tmp");
    let temps = || -> Vec<u64> {
        fs::read_dir(&tmp)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("incoming-"))
                    .map(|e| e.metadata().unwrap().len())
                    .collect()
            })
            .unwrap_or_default()
    };
    // The first part comes at once, every later one after a long pause.
    http.faults
        .stall_later_parts_ms
        .store(60_000, Ordering::SeqCst);
    let mut child = r.spawn_dvc(["fetch"]);
    let started = std::time::Instant::now();
    while !temps().iter().any(|n| *n >= 5 * MIB as u64) {
        assert!(
            started.elapsed().as_secs() < 20,
            "the first part never landed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        !r.object(&sha256(&big)).exists(),
        "nothing partial is visible"
    );
    let out = r.dvc(["gc"]);
    assert_eq!(out.stderr, "Removed 0 objects (0 B) from the cache.\n");
    assert_eq!(temps().len(), 1, "a running download's temp stays");

    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!r.object(&sha256(&big)).exists());
    let out = r.dvc(["gc"]);
    assert!(
        out.stderr
            .starts_with("Removed 0 objects (0 B) from the cache.\nRemoved 1 temp file ("),
        "{}",
        out.stderr
    );
    assert!(temps().is_empty());

    http.faults.stall_later_parts_ms.store(0, Ordering::SeqCst);
    let out = r.dvc(["fetch"]);
    assert_eq!(
        out.stderr,
        "Downloaded 1 object (20.0 MiB) from 'storage'.\n"
    );
    assert!(fs::read(r.object(&sha256(&big))).unwrap() == big);
}

/// A push killed in the middle of a multipart upload leaves its parts on
/// the store, kept (and billed) until the upload is aborted. `gc --remote`
/// leaves a young one alone, since it may be a push still running
/// elsewhere, and aborts it once it is a day old, saying what it freed.
#[test]
fn gc_aborts_the_multipart_upload_a_killed_push_left_once_it_is_a_day_old() {
    let env = Env::new();
    let (s3, r, big) = s3_with_big_file(&env);
    // Parts 1 to 4 land; the fifth never gets an answer.
    s3.faults.hang_part.store(5, Ordering::SeqCst);
    let mut push = r.spawn_dvc(["push"]);
    let started = std::time::Instant::now();
    while pending_uploads(&s3).len() < 4 || s3.faults.part_uploads.load(Ordering::SeqCst) < 5 {
        assert!(started.elapsed().as_secs() < 30, "the parts never landed");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    push.kill().unwrap();
    push.wait().unwrap();
    s3.faults.hang_part.store(0, Ordering::SeqCst);
    let h = sha256(&big);
    let key = format!("data/{}/{}", &h[..2], &h[2..]);
    assert_eq!(s3.open_uploads(), vec![key.clone()]);
    assert!(s3.objects("bucket/data").is_empty());

    let out = r.dvc(["gc", "--remote", "storage"]);
    assert_eq!(out.stderr, "Removed 0 objects from remote 'storage'.\n");
    assert_eq!(
        s3.open_uploads(),
        vec![key],
        "a young upload may be running"
    );
    assert_eq!(pending_uploads(&s3).len(), 4);

    s3.age_uploads(std::time::Duration::from_secs(24 * 3600 + 60));
    let out = r.dvc(["gc", "--remote", "storage", "--dry-run"]);
    assert_eq!(
        out.stderr,
        "Would remove 0 objects from remote 'storage'.\n"
    );
    assert_eq!(pending_uploads(&s3).len(), 4, "a dry run aborts nothing");
    let out = r.dvc(["gc", "--remote", "storage"]);
    assert_eq!(
        out.stderr,
        "Removed 0 objects from remote 'storage'.\n\
         Removed 1 temp file (20.0 MiB) left by interrupted commands from remote 'storage'.\n"
    );
    assert!(s3.open_uploads().is_empty());
    assert!(pending_uploads(&s3).is_empty(), "the parts are gone");

    // Nothing else was touched, and the next push does the whole job.
    let out = r.dvc(["push"]);
    assert_eq!(out.stderr, "Uploaded 1 object (20.0 MiB) to 'storage'.\n");
    let out = r.dvc(["gc", "--remote", "storage"]);
    assert_eq!(out.stderr, "Removed 0 objects from remote 'storage'.\n");
    assert_eq!(s3.objects("bucket/data").len(), 1);
}

/// A big object goes up in parts while it is hashed, not after a pass of
/// its own; a corrupt one is caught before the upload completes: the
/// upload is aborted, nothing is visible on the store, and the object is
/// quarantined and named, as on every other way out of the cache.
#[test]
fn a_corrupt_big_object_is_never_completed_on_s3() {
    let env = Env::new();
    let (s3, r, big) = s3_with_big_file(&env);
    let hex = sha256(&big);
    flip_byte(&r.object(&hex));
    let actual = sha256(&fs::read(r.object(&hex)).unwrap());
    let out = r.dvc_run(["push"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let q = r.path.join(".git/dvc/cache/quarantine").join(&hex);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: cached object {hex} is corrupt (its content hashes to {actual}); moved to {} (big.bin)\n\
             git-dvc: error: 1 of 1 objects failed to transfer (remote 'storage')\n",
            q.display()
        )
    );
    assert!(s3.objects("bucket/data").is_empty(), "nothing visible");
    assert!(s3.open_uploads().is_empty(), "the upload was aborted");
    assert!(pending_uploads(&s3).is_empty(), "its parts are gone");
    assert!(q.exists() && !r.object(&hex).exists());
}

/// A store that cannot list unfinished uploads, or a key not allowed to:
/// `gc --remote` still sweeps the objects; a refusal is said once.
#[test]
fn gc_on_a_store_that_cannot_list_uploads_still_sweeps_its_objects() {
    let env = Env::new();
    let (s3, r, _big) = s3_with_big_file(&env);
    r.dvc(["push"]);
    s3.faults.upload_listing_status.store(501, Ordering::SeqCst);
    let out = r.dvc(["gc", "--remote", "storage"]);
    assert_eq!(out.stderr, "Removed 0 objects from remote 'storage'.\n");
    s3.faults.upload_listing_status.store(403, Ordering::SeqCst);
    let out = r.dvc(["gc", "--remote", "storage"]);
    assert_eq!(
        out.stderr,
        "git-dvc: warning: remote 'storage' refused access: list unfinished uploads: 403 AccessDenied injected; no unfinished upload was aborted\n\
         Removed 0 objects from remote 'storage'.\n"
    );
    assert_eq!(s3.objects("bucket/data").len(), 1);
}

/// Parts are requests too: with `jobs = 4`, four big files of three
/// parts each never have more than four GETs in flight at once (before,
/// four objects at a time each ran its three parts: twelve), and the
/// clone still gets every byte.
#[test]
fn big_files_share_the_requests_in_flight() {
    let env = Env::new();
    let store = env.root().join("store");
    let http = HttpServer::start(&store);
    env.user_config("[transfer]\njobs = 4\npart_size = \"5MiB\"\npart_jobs = 3\n");
    let r = env.repo("origin");
    r.dvc(["track", "*.bin"]);
    let files: Vec<Vec<u8>> = (0..4).map(|i| data(3000 + i, (11 << 20) + 7)).collect();
    for (i, f) in files.iter().enumerate() {
        r.write(&format!("{i}.bin"), f);
    }
    r.dvc(["remote", "add", "-d", "storage", &http.url]);
    r.commit_all("four big files");
    r.dvc(["push"]);
    // Slow answers, so whatever may overlap does.
    http.faults.delay_ms.store(100, Ordering::SeqCst);
    http.faults.max_in_flight.store(0, Ordering::SeqCst);
    let out = env.ok(env.root(), "git", ["clone", "-q", "origin", "fresh"]);
    assert_eq!(out.stderr, "");
    let c = env.at(env.root().join("fresh"));
    for (i, f) in files.iter().enumerate() {
        assert!(&c.read(&format!("{i}.bin")) == f, "{i}.bin");
    }
    assert_eq!(http.faults.ranged.load(Ordering::SeqCst), 12);
    let most = http.faults.max_in_flight.load(Ordering::SeqCst);
    assert!((2..=4).contains(&most), "{most} requests in flight at once");
}

/// `fsck --remote` weighs each object by the size its listing gives: with
/// `jobs = 4`, four big objects of three parts each are checked with at
/// most four GETs in flight (before, each counted as one request while it
/// ran three: twelve at once).
#[test]
fn checking_a_remote_shares_the_requests_in_flight_too() {
    let env = Env::new();
    let s3 = S3Server::start(&env.root().join("s3"), "bucket");
    env.s3_credentials(S3_SECRET);
    env.user_config("[transfer]\njobs = 4\npart_size = \"5MiB\"\npart_jobs = 3\n");
    let r = env.repo("origin");
    r.dvc(["track", "*.bin"]);
    for i in 0..4 {
        r.write(&format!("{i}.bin"), data(4000 + i, (11 << 20) + 7));
    }
    r.dvc([
        "remote",
        "add",
        "-d",
        "storage",
        "s3://bucket/data",
        "--endpoint",
        &s3.endpoint,
    ]);
    r.commit_all("four big files");
    r.dvc(["push"]);
    s3.faults.get_delay_ms.store(100, Ordering::SeqCst);
    let before = s3.faults.ranged_gets.load(Ordering::SeqCst);
    let out = r.dvc(["fsck", "--remote", "storage"]);
    assert_eq!(
        out.stderr,
        "Checked 4 objects on remote 'storage': all good.\n"
    );
    assert_eq!(s3.faults.ranged_gets.load(Ordering::SeqCst) - before, 12);
    let most = s3.faults.max_gets_in_flight.load(Ordering::SeqCst);
    assert!((2..=4).contains(&most), "{most} GETs in flight at once");
}
