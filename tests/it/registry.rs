//! The data-registry stories (000, 001): `get` anywhere, `import` with a
//! locked revision, `update`, a registry read over read-only HTTP; and the
//! cleanup story (004): gc keeps what is needed, fsck finds damage.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::harness::{Env, Repo, data, pointer_for, sha256};
use crate::servers::{HttpServer, walk};

/// A registry repository whose data lives on a directory remote, served
/// read-only over HTTP (`read_only = true` committed in its .gitdvc.toml).
fn registry(env: &Env) -> (Repo<'_>, HttpServer) {
    let store = env.root().join("registry-store");
    let http = HttpServer::start(&store);
    let r = env.repo("dataset-registry");
    r.dvc(["track", "use-cases/**"]);
    r.write("use-cases/cats-dogs/train/cat.1.jpg", data(1, 3000));
    r.write("use-cases/cats-dogs/train/dog.1.jpg", data(2, 4000));
    r.write("use-cases/cats-dogs/validation/cat.2.jpg", data(3, 5000));
    r.write("README.md", "# registry\n");
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("cats-dogs v1");
    r.dvc(["push"]);
    // Consumers read it over HTTP, read-only.
    r.dvc(["remote", "set", "storage", "url", &http.url]);
    r.dvc(["remote", "set", "storage", "read_only", "true"]);
    r.commit_all("serve storage over http");
    r.git(["tag", "cats-dogs-v1"]);
    (r, http)
}

fn cats_dogs_v2(r: &Repo<'_>) {
    r.write("use-cases/cats-dogs/train/dog.1.jpg", data(4, 4100));
    r.write("use-cases/cats-dogs/train/dog.2.jpg", data(5, 4200));
    fs::remove_file(r.path.join("use-cases/cats-dogs/validation/cat.2.jpg")).unwrap();
    r.commit_all("cats-dogs v2");
    // Push to the store behind the HTTP server.
    r.dvc([
        "remote",
        "set",
        "--local",
        "storage",
        "url",
        r.env.root().join("registry-store").to_str().unwrap(),
    ]);
    r.dvc(["remote", "set", "--local", "storage", "read_only", "false"]);
    r.dvc(["push"]);
    r.git(["tag", "cats-dogs-v2"]);
}

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `git dvc get` works outside any repository and writes plain files.
#[test]
fn get_anywhere_outside_a_repository() {
    let env = Env::new();
    let (reg, http) = registry(&env);
    let outside = env.root().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let out = env.ok(
        &outside,
        "git-dvc",
        [
            "get",
            reg.path.to_str().unwrap(),
            "use-cases/cats-dogs",
            "-o",
            "cats-dogs",
        ],
    );
    assert!(
        out.stderr
            .starts_with("Downloaded cats-dogs (3 files) from "),
        "{}",
        out.stderr
    );
    let got = env.at(outside.join("cats-dogs"));
    assert_eq!(got.read("train/cat.1.jpg"), data(1, 3000));
    assert_eq!(got.read("validation/cat.2.jpg"), data(3, 5000));
    assert_eq!(
        files_under(&outside),
        vec![
            "cats-dogs/train/cat.1.jpg",
            "cats-dogs/train/dog.1.jpg",
            "cats-dogs/validation/cat.2.jpg"
        ]
    );
    // A plain Git file comes as it is; the objects came from the source's
    // own cache, so the HTTP remote was not even needed.
    env.ok(
        &outside,
        "git-dvc",
        ["get", reg.path.to_str().unwrap(), "README.md"],
    );
    assert_eq!(
        fs::read(outside.join("README.md")).unwrap(),
        b"# registry\n"
    );
    let _ = http;
    // An existing output is never overwritten.
    let out = env.run(
        &outside,
        "git-dvc",
        ["get", reg.path.to_str().unwrap(), "README.md"],
    );
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "git-dvc: error: output already exists (README.md); remove it or choose another with -o\n"
    );
}

/// import records the source and locked revision; update brings new,
/// changed and removed files; a fresh clone of the consumer gets the data
/// from the source's remote.
#[test]
fn import_then_update_then_fresh_clone() {
    let env = Env::new();
    let (reg, http) = registry(&env);
    // Consumers must not rely on the registry's local cache.
    let reg_url = format!("file://{}", reg.path.display());
    let p = env.repo("project");
    let out = p.dvc([
        "import",
        &reg_url,
        "use-cases/cats-dogs",
        "--rev",
        "cats-dogs-v1",
    ]);
    let v1 = reg.git(["rev-parse", "cats-dogs-v1^{commit}"]);
    assert_eq!(
        out.stderr,
        format!(
            "Imported use-cases/cats-dogs from {reg_url} at {} into cats-dogs (3 files).\n",
            &v1[..10]
        )
    );
    let rec = fs::read_to_string(p.path.join("cats-dogs.import.toml")).unwrap();
    assert!(
        rec.starts_with(&format!(
            "url = \"{reg_url}\"\npath = \"use-cases/cats-dogs\"\nrev = \"cats-dogs-v1\"\nrev_lock = \"{}\"\n",
            v1.trim()
        )),
        "{rec}"
    );
    assert!(rec.contains(&format!("url = \"{}\"", http.url)), "{rec}");
    assert_eq!(p.read("cats-dogs/train/dog.1.jpg"), data(2, 4000));
    assert!(
        String::from_utf8(p.read(".gitattributes"))
            .unwrap()
            .contains("cats-dogs/** filter=dvc")
    );
    p.git([
        "add",
        "cats-dogs",
        "cats-dogs.import.toml",
        ".gitattributes",
    ]);
    p.git(["commit", "-q", "-m", "import cats-dogs v1"]);
    assert_eq!(
        p.git(["cat-file", "-p", "HEAD:cats-dogs/train/dog.1.jpg"]),
        pointer_for(&data(2, 4000))
    );

    cats_dogs_v2(&reg);
    // Pinned to a tag: update does not move it.
    let out = p.dvc(["update", "cats-dogs"]);
    assert_eq!(
        out.stderr,
        format!("cats-dogs is up to date ({}).\n", &v1[..10])
    );
    // A new --rev moves it: added, changed and deleted files all follow.
    let out = p.dvc(["update", "cats-dogs", "--rev", "cats-dogs-v2"]);
    let v2 = reg.git(["rev-parse", "cats-dogs-v2^{commit}"]);
    assert_eq!(
        out.stderr,
        format!(
            "Updated cats-dogs to {}: 2 files written, 1 removed.\n",
            &v2[..10]
        )
    );
    assert_eq!(p.read("cats-dogs/train/dog.1.jpg"), data(4, 4100));
    assert_eq!(p.read("cats-dogs/train/dog.2.jpg"), data(5, 4200));
    assert!(!p.path.join("cats-dogs/validation").exists());
    p.commit_all("cats-dogs v2");
    // Imported data lives on the source's remote: pushing the consumer
    // needs no remote of its own.
    env.ok(env.root(), "git", ["init", "-q", "--bare", "hub.git"]);
    let out = p.git_run([
        "push",
        "-q",
        env.root().join("hub.git").to_str().unwrap(),
        "main",
    ]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));

    // A fresh clone of the consumer, with no remote of its own.
    env.ok(
        env.root(),
        "git",
        ["clone", "-q", "project", "project-clone"],
    );
    let c = env.at(env.root().join("project-clone"));
    assert_eq!(c.read("cats-dogs/train/dog.2.jpg"), data(5, 4200));
    assert_eq!(c.status(), "");
}

/// An import following a branch moves with it.
#[test]
fn branch_following_import_updates_to_the_tip() {
    let env = Env::new();
    let (reg, _http) = registry(&env);
    let p = env.repo("project");
    p.dvc(["import", reg.path.to_str().unwrap(), "use-cases/cats-dogs"]);
    let rec = fs::read_to_string(p.path.join("cats-dogs.import.toml")).unwrap();
    assert!(!rec.contains("\nrev = "), "no --rev, no rev: {rec}");
    cats_dogs_v2(&reg);
    let out = p.dvc(["update", "cats-dogs"]);
    assert!(
        out.stderr.contains(": 2 files written, 1 removed.\n"),
        "{}",
        out.stderr
    );
    assert_eq!(p.read("cats-dogs/train/dog.2.jpg"), data(5, 4200));
    let out = p.dvc(["update", "cats-dogs"]);
    assert!(
        out.stderr.ends_with("is up to date") || out.stderr.contains("is up to date"),
        "{}",
        out.stderr
    );
}

/// Hostile sources: paths that escape, symlinks, bytes that do not match.
#[test]
fn hostile_sources_are_refused() {
    let env = Env::new();
    let evil = env.repo("evil");
    evil.dvc(["track", "data/**"]);
    evil.write("data/ok.bin", data(1, 100));
    std::os::unix::fs::symlink("/etc", evil.path.join("data/escape")).unwrap();
    evil.commit_all("symlink");
    let p = env.repo("victim");
    let out = p.dvc_run(["import", evil.path.to_str().unwrap(), "data"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "git-dvc: error: refusing a symbolic link from the source (escape)\n"
    );
    assert!(!p.path.join("data").exists(), "nothing written");

    for bad in ["../x", "/etc/passwd", "a/../../b"] {
        let out = p.dvc_run(["get", evil.path.to_str().unwrap(), bad]);
        assert_eq!(out.code, 1);
        assert!(
            out.stderr.contains("refusing unsafe path"),
            "{bad}: {}",
            out.stderr
        );
    }

    // A remote serving wrong bytes: refused, nothing written.
    let store = env.root().join("evil-store");
    let http = HttpServer::start(&store);
    let liar = env.repo("liar");
    liar.dvc(["track", "*.bin"]);
    let v = data(9, 2000);
    liar.write("d.bin", &v);
    liar.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    liar.commit_all("v1");
    liar.dvc(["push"]);
    liar.dvc(["remote", "set", "storage", "url", &http.url]);
    liar.commit_all("http");
    fs::remove_dir_all(liar.cache()).unwrap();
    http.faults
        .corrupt
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let out = p.dvc_run(["get", &format!("file://{}", liar.path.display()), "d.bin"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("served wrong content for object"),
        "{}",
        out.stderr
    );
    assert!(!p.path.join("d.bin").exists());
}

/// gc keeps what the workspace needs, refuses to drop unpushed data, and
/// an old version still comes back from the remote afterwards.
#[test]
fn gc_keeps_what_is_needed_and_never_the_last_copy() {
    let env = Env::new();
    let store = env.root().join("store");
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let v1 = data(1, 10_000);
    r.write("a.bin", &v1);
    r.commit_all("v1");
    r.git(["tag", "v1"]);
    let v2 = data(2, 20_000);
    r.write("a.bin", &v2);
    r.commit_all("v2");
    let staged = data(3, 30_000);
    r.write("b.bin", &staged);
    r.git(["add", "b.bin"]);

    // No remote yet: v1 is unused but nowhere else, so it stays.
    let out = r.dvc(["gc"]);
    assert_eq!(
        out.stderr,
        "Removed 0 objects (0 B) from the cache.\ngit-dvc: warning: kept 1 unused object (9.8 KiB) that no remote is known to hold; push them first, or use --force to delete them anyway\n"
    );
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.dvc(["push", "--all"]);
    let out = r.dvc(["gc", "--dry-run"]);
    assert_eq!(
        out.stderr,
        "Would remove 1 object (9.8 KiB) from the cache.\n"
    );
    assert!(r.object(&sha256(&v1)).exists());
    let out = r.dvc(["gc", "--all-tags"]);
    assert_eq!(out.stderr, "Removed 0 objects (0 B) from the cache.\n");
    let out = r.dvc(["gc", "--workspace"]);
    assert_eq!(out.stderr, "Removed 1 object (9.8 KiB) from the cache.\n");
    assert!(!r.object(&sha256(&v1)).exists());
    assert!(r.object(&sha256(&v2)).exists(), "HEAD kept");
    assert!(r.object(&sha256(&staged)).exists(), "the index kept");
    // The old version comes back from the remote.
    r.git(["stash", "-q"]);
    r.git(["checkout", "-q", "v1"]);
    assert_eq!(r.read("a.bin"), v1);

    // gc on the remote: only what the local cache or another copy holds.
    r.git(["checkout", "-q", "main"]);
    let out = r.dvc(["gc", "--remote", "storage"]);
    assert_eq!(out.stderr, "Removed 1 object from remote 'storage'.\n");
    assert!(
        !store
            .join(&sha256(&v1)[..2])
            .join(&sha256(&v1)[2..])
            .exists()
    );
}

/// fsck re-hashes the cache and quarantines damage.
#[test]
fn fsck_finds_and_quarantines_corrupt_objects() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let v = data(1, 5000);
    r.write("a.bin", &v);
    r.write("b.bin", data(2, 5000));
    r.commit_all("v1");
    assert_eq!(r.dvc(["fsck"]).stderr, "Checked 2 objects: all good.\n");
    let obj = r.object(&sha256(&v));
    fs::set_permissions(&obj, fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = fs::read(&obj).unwrap();
    bytes[10] ^= 1;
    fs::write(&obj, bytes).unwrap();
    let out = r.dvc_run(["fsck"]);
    assert_eq!(out.code, 1);
    let q = r.cache().join("quarantine").join(sha256(&v));
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: corrupt object {} moved to {}\ngit-dvc: error: 1 of 2 objects were corrupt (cache {})\n",
            sha256(&v),
            q.display(),
            r.cache().display()
        )
    );
    assert!(!obj.exists() && q.exists());
}

/// A big file from a registry is the very copy that was checked as it came
/// down (its twin), renamed into place, not copied out of the cache and
/// hashed again; one already in the consumer's cache is copied by the
/// kernel (or shared, on a filesystem with reflinks), checked beside the
/// copy.
#[test]
fn big_files_from_a_registry_are_the_copies_checked_on_arrival() {
    let env = Env::new();
    let (reg, _http) = registry(&env);
    let big = data(21, 9 << 20);
    reg.write("models/big.bin", &big);
    reg.dvc(["track", "models/**"]);
    cats_dogs_v2(&reg);
    // Over HTTP, not from the registry's own cache.
    let reg_url = format!("file://{}", reg.path.display());
    let outside = env.root().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let out = env.ok(
        &outside,
        "git-dvc",
        ["-v", "get", &reg_url, "models/big.bin", "-o", "m/big.bin"],
    );
    let line =
        |path: &std::path::Path, how: &str| format!("git-dvc: wrote {} ({how})", path.display());
    // (The path as given, relative to where get ran.)
    let twin_line = line(std::path::Path::new("m/big.bin"), "its twin");
    assert!(out.stderr.lines().any(|l| l == twin_line), "{}", out.stderr);
    assert_eq!(fs::read(outside.join("m/big.bin")).unwrap(), big);
    assert_eq!(files_under(&outside), vec!["m/big.bin"]);

    let p = env.repo("project");
    let out = p.dvc(["-v", "import", &reg_url, "models/big.bin", "-o", "a.bin"]);
    let twin_line = line(&p.path.join("a.bin"), "its twin");
    assert!(out.stderr.lines().any(|l| l == twin_line), "{}", out.stderr);
    assert_eq!(p.read("a.bin"), big);
    // Now in the project's cache: the second import copies it from there.
    let out = p.dvc(["-v", "import", &reg_url, "models/big.bin", "-o", "b.bin"]);
    let copied: Vec<String> = ["Reflink", "Kernel", "Buffered"]
        .iter()
        .map(|how| line(&p.path.join("b.bin"), how))
        .collect();
    assert!(
        out.stderr.lines().any(|l| copied.iter().any(|c| c == l)),
        "{}",
        out.stderr
    );
    assert_eq!(p.read("b.bin"), big);
    assert_eq!(
        fs::metadata(p.path.join("b.bin"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
    // The registry's model changes: update replaces the file with the twin
    // of the new download.
    let big2 = data(22, 9 << 20);
    reg.write("models/big.bin", &big2);
    reg.commit_all("model v2");
    reg.dvc(["push"]);
    let out = p.dvc(["-v", "update", "a.bin"]);
    assert!(out.stderr.lines().any(|l| l == twin_line), "{}", out.stderr);
    assert_eq!(p.read("a.bin"), big2);
    assert_eq!(p.read("b.bin"), big);
}
