//! Many small objects: a push asks the remote what it holds in a few
//! listings rather than once per object, a remote object of the wrong size
//! is replaced, corruption never leaves the cache, and a clone of many
//! files gets every byte.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering;

use crate::harness::{Env, Repo, data, sha256};
use crate::servers::{HttpServer, S3_SECRET, S3Server, walk};

/// How many files each story commits: well above the engine's listing
/// threshold, well below what makes a test slow.
const N: usize = 40;
/// Each file's size: `N` of them make a round 40.0 KiB.
const LEN: usize = 1024;

/// A repo tracking `data/**` with `N` distinct files of `LEN` bytes, the
/// default remote `url` (plus `extra` args to `remote add`), committed.
fn many_files<'a>(env: &'a Env, url: &str, extra: &[&str]) -> (Repo<'a>, Vec<Vec<u8>>) {
    let r = env.repo("many");
    r.dvc(["track", "data/**"]);
    let files: Vec<Vec<u8>> = (0..N).map(|i| data(1000 + i as u64, LEN)).collect();
    for (i, f) in files.iter().enumerate() {
        r.write(&format!("data/{i:03}.bin"), f);
    }
    let mut args = vec!["remote", "add", "-d", "storage", url];
    args.extend_from_slice(extra);
    r.dvc(args);
    r.commit_all("many files");
    (r, files)
}

/// `ab/cdef…` of `bytes`.
fn key(bytes: &[u8]) -> String {
    let h = sha256(bytes);
    format!("{}/{}", &h[..2], &h[2..])
}

/// The two-hex prefixes the objects of `files` lie in.
fn prefixes(files: &[Vec<u8>]) -> usize {
    files
        .iter()
        .map(|f| sha256(f)[..2].to_string())
        .collect::<BTreeSet<_>>()
        .len()
}

/// A push of a batch to S3 learns what the bucket holds from listings
/// (at most one per two-hex prefix the batch touches) and sends no HEAD per
/// object; a second push uploads nothing; an object the bucket holds at
/// the wrong size is uploaded again; a fresh clone gets every byte.
#[test]
fn a_push_to_s3_lists_what_is_there_instead_of_asking_per_object() {
    let env = Env::new();
    let s3 = S3Server::start(&env.root().join("s3"), "bucket");
    env.s3_credentials(S3_SECRET);
    let (r, files) = many_files(&env, "s3://bucket/many", &["--endpoint", &s3.endpoint]);
    s3.requests.take();

    let out = r.dvc(["push"]);
    assert_eq!(out.stderr, "Uploaded 40 objects (40.0 KiB) to 'storage'.\n");
    let [lists, heads, gets, puts] = s3.requests.take();
    assert!(
        (1..=prefixes(&files)).contains(&lists),
        "{lists} listings for {} prefixes",
        prefixes(&files)
    );
    assert_eq!(
        (heads, gets, puts),
        (0, 0, N),
        "no request per object but the upload"
    );
    let mut want: Vec<String> = files.iter().map(|f| key(f)).collect();
    want.sort();
    assert_eq!(s3.objects("bucket/many"), want);

    let out = r.dvc(["push"]);
    assert_eq!(
        out.stderr,
        "Uploaded 0 objects (0 B) to 'storage', 40 already there.\n"
    );
    let [lists, heads, _, puts] = s3.requests.take();
    assert!(lists >= 1 && lists <= prefixes(&files));
    assert_eq!((heads, puts), (0, 0));
    assert_eq!(
        r.dvc(["status", "--remote"]).stdout,
        "Everything is up to date.\n"
    );
    assert_eq!(s3.requests.take()[1], 0, "status asks no HEAD per object");

    // An older, broken tool left one object cut short in the bucket.
    let cut = s3.root.join("bucket/many").join(key(&files[7]));
    fs::write(&cut, &files[7][..100]).unwrap();
    let out = r.dvc(["push"]);
    assert_eq!(
        out.stderr,
        "Uploaded 1 object (1.0 KiB) to 'storage', 39 already there.\n"
    );
    assert_eq!(fs::read(&cut).unwrap(), files[7]);
    assert_eq!(s3.requests.take()[1], 0);

    let out = env.ok(env.root(), "git", ["clone", "-q", "many", "fresh"]);
    assert_eq!(out.stderr, "");
    let c = env.at(env.root().join("fresh"));
    for (i, f) in files.iter().enumerate() {
        assert_eq!(&c.read(&format!("data/{i:03}.bin")), f, "data/{i:03}.bin");
    }
    assert_eq!(c.status(), "");
    assert_eq!(s3.requests.take()[2], N, "one GET per object, none twice");

    // The data goes; gc on the remote removes every object once (the
    // cache still holds them, so none is the last copy).
    r.git(["rm", "-r", "-q", "data"]);
    r.git(["commit", "-q", "-m", "no data"]);
    let out = r.dvc(["gc", "--remote", "storage"]);
    assert_eq!(
        out.stderr,
        format!("Removed {N} objects from remote 'storage'.\n")
    );
    assert_eq!(s3.objects("bucket/many"), Vec::<String>::new());
}

/// A push of a batch to a directory remote: an object already there is
/// skipped, one there at the wrong size is replaced, a corrupt cache object
/// is refused (and nothing of it reaches the remote) while the rest go up,
/// read-only, with no temp file left behind.
#[test]
fn a_push_to_a_directory_replaces_wrong_sizes_and_never_spreads_corruption() {
    let env = Env::new();
    let store = env.root().join("store");
    let (r, files) = many_files(&env, store.to_str().unwrap(), &[]);
    let on_remote = |f: &[u8]| store.join(key(f));
    // One object is already there, one is there cut short.
    for (i, len) in [(3, LEN), (5, 10)] {
        fs::create_dir_all(on_remote(&files[i]).parent().unwrap()).unwrap();
        fs::write(on_remote(&files[i]), &files[i][..len]).unwrap();
    }
    // One cache object rotted.
    let bad = sha256(&files[9]);
    let obj = r.object(&bad);
    fs::set_permissions(&obj, fs::Permissions::from_mode(0o644)).unwrap();
    let mut rotten = files[9].clone();
    rotten[0] ^= 1;
    fs::write(&obj, &rotten).unwrap();

    let out = r.dvc_run(["push"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let q = r.path.join(".git/dvc/cache/quarantine").join(&bad);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: cached object {bad} is corrupt (its content hashes to {}); moved to {} (data/009.bin)\n\
             Uploaded 38 objects (38.0 KiB) to 'storage', 1 already there.\n\
             git-dvc: error: 1 of 40 objects failed to transfer (remote 'storage')\n",
            sha256(&rotten),
            q.display()
        )
    );
    assert!(!on_remote(&files[9]).exists(), "corruption never spreads");
    for (i, f) in files.iter().enumerate().filter(|(i, _)| *i != 9) {
        assert_eq!(
            &fs::read(on_remote(f)).unwrap(),
            f,
            "object of data/{i:03}.bin"
        );
        if i != 3 {
            let mode = fs::metadata(on_remote(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o222, 0, "uploaded objects are read-only");
        }
    }
    let mut left = Vec::new();
    walk(&store, &store, &mut left);
    assert_eq!(left.len(), N - 1, "no temp files: {left:?}");
    assert!(
        fs::read_dir(&store)
            .unwrap()
            .flatten()
            .flat_map(|d| fs::read_dir(d.path()).unwrap().flatten())
            .all(|e| !e.file_name().to_string_lossy().starts_with('.')),
        "no .incoming- temp files"
    );

    // The good copy comes back; the next push sends only it.
    fs::write(&obj, &files[9]).unwrap();
    let out = r.dvc(["push"]);
    assert_eq!(
        out.stderr,
        "Uploaded 1 object (1.0 KiB) to 'storage', 39 already there.\n"
    );
    assert_eq!(fs::read(on_remote(&files[9])).unwrap(), files[9]);
}

/// A remote that cannot list (a static web server) is asked per object:
/// one HEAD each, then the uploads.
#[test]
fn a_push_over_http_asks_per_object() {
    let env = Env::new();
    let http = HttpServer::start(&env.root().join("www"));
    let (r, files) = many_files(&env, &http.url, &[]);
    let out = r.dvc(["push"]);
    assert_eq!(out.stderr, "Uploaded 40 objects (40.0 KiB) to 'storage'.\n");
    assert_eq!(http.faults.heads.load(Ordering::SeqCst), N);
    assert_eq!(http.faults.puts.load(Ordering::SeqCst), N);
    assert_eq!(
        fs::read(env.root().join("www").join(key(&files[0]))).unwrap(),
        files[0]
    );
}

/// A fresh `git clone` of a few hundred files fetched from a directory
/// remote gives every byte, each object once, every file's stat data in
/// the index and a clean status.
#[test]
fn a_clone_of_many_files_gets_every_byte() {
    let env = Env::new();
    let store = env.root().join("store");
    let r = env.repo("origin");
    r.dvc(["track", "data/**"]);
    let files: Vec<Vec<u8>> = (0..300)
        .map(|i| data(5000 + i as u64, 2000 + i * 7))
        .collect();
    for (i, f) in files.iter().enumerate() {
        r.write(&format!("data/{:02}/{i:03}.bin", i % 10), f);
    }
    // The same content twice: one object, two files.
    r.write("data/copy-of-000.bin", &files[0]);
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("v1");
    let out = r.dvc(["push"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.starts_with("Uploaded 300 objects ("),
        "{}",
        out.stderr
    );

    let out = env.ok(env.root(), "git", ["clone", "-q", "origin", "fresh"]);
    assert_eq!(out.stderr, "");
    let c = env.at(env.root().join("fresh"));
    for (i, f) in files.iter().enumerate() {
        assert_eq!(&c.read(&format!("data/{:02}/{i:03}.bin", i % 10)), f);
    }
    assert_eq!(c.read("data/copy-of-000.bin"), files[0]);
    // The index keeps every file's stat data: none zeroed (libgit2 zeroes a
    // racily clean entry whose raw bytes differ from its blob, as a file
    // Git wrote from the filter's answer does), so none is read again.
    let debug = c.git(["ls-files", "--debug", "data"]);
    let mut path = "";
    let mut zeroed = Vec::new();
    for line in debug.lines() {
        if !line.starts_with(' ') {
            path = line;
        } else if line.trim_start().starts_with("size: 0\t") {
            zeroed.push(path);
        }
    }
    assert!(zeroed.is_empty(), "index entries zeroed: {zeroed:?}");
    assert_eq!(c.status(), "");
    let mut cached = Vec::new();
    let cache = c.cache();
    walk(&cache, &cache, &mut cached);
    cached.retain(|p| !p.starts_with("tmp/") && !p.starts_with("quarantine/"));
    assert_eq!(cached.len(), 300, "every object in the clone's cache once");
}
