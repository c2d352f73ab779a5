//! DVC projects as sources: the fixture in tests/fixtures/dvc was made by
//! the real `dvc` (see its make.sh and README). `get` and `import` read
//! its `.dvc` files, `dvc.lock` and `.dvc/config`, fetch objects by md5
//! from its directory remote (DVC 3 and DVC 2 layouts), verify them, and
//! store them under sha256.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::harness::{Env, sha256};
use crate::servers::HttpServer;

const MODEL_SHA: &str = "646be5dba57ecd1ca1b2ab10fef93b6948331b00a2480bf09ec7e41957d40144";

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

/// The fixture project at `<root>/project` with its remote beside it.
fn dvc_project(env: &Env, layout: &str) -> PathBuf {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dvc");
    let project = env.root().join("project");
    env.ok(
        env.root(),
        "git",
        [
            "clone",
            "-q",
            fx.join("project.bundle").to_str().unwrap(),
            "project",
        ],
    );
    copy_dir(&fx.join(layout), &env.root().join("remote"));
    project
}

#[test]
fn get_from_a_dvc_project() {
    let env = Env::new();
    let project = dvc_project(&env, "remote");
    let src = project.to_str().unwrap();
    let out_dir = env.root().join("out");
    fs::create_dir_all(&out_dir).unwrap();
    let out = env.ok(
        &out_dir,
        "git-dvc",
        ["get", src, "data/images", "--rev", "v1"],
    );
    assert!(
        out.stderr.starts_with("Downloaded images (5 files) from "),
        "{}",
        out.stderr
    );
    let got = env.at(out_dir.join("images"));
    assert_eq!(got.read("cats/1.txt"), b"meow 1\n");
    assert_eq!(got.read("cats/3.txt"), b"purr\n");
    assert_eq!(
        got.read("dogs/2.txt"),
        b"woof 2 crlf\r\n",
        "bytes as they are: no dos2unix"
    );
    env.ok(&out_dir, "git-dvc", ["get", src, "model.bin"]);
    assert_eq!(
        sha256(&fs::read(out_dir.join("model.bin")).unwrap()),
        MODEL_SHA
    );
    // An output of a pipeline stage, from dvc.lock.
    env.ok(&out_dir, "git-dvc", ["get", src, "prepared.txt"]);
    assert_eq!(
        fs::read(out_dir.join("prepared.txt")).unwrap(),
        b"meow 1 (edited)\nmeow 2\nwoof 1\nwoof 2 crlf\r\nwoof 3\n"
    );
    // A single file inside a directory output.
    env.ok(
        &out_dir,
        "git-dvc",
        ["get", src, "data/images/dogs/1.txt", "-o", "dog.txt"],
    );
    assert_eq!(fs::read(out_dir.join("dog.txt")).unwrap(), b"woof 1\n");
}

#[test]
fn dvc2_layout_remote_works_too() {
    let env = Env::new();
    let project = dvc_project(&env, "remote-v2");
    let out_dir = env.root().join("out");
    fs::create_dir_all(&out_dir).unwrap();
    env.ok(
        &out_dir,
        "git-dvc",
        ["get", project.to_str().unwrap(), "data/images"],
    );
    assert_eq!(
        fs::read(out_dir.join("images/dogs/3.txt")).unwrap(),
        b"woof 3\n"
    );
}

#[test]
fn import_and_update_from_a_dvc_project_then_clone() {
    let env = Env::new();
    let project = dvc_project(&env, "remote");
    let p = env.repo("consumer");
    p.dvc([
        "import",
        project.to_str().unwrap(),
        "data/images",
        "--rev",
        "v1",
    ]);
    assert_eq!(p.read("images/cats/3.txt"), b"purr\n");
    let rec = fs::read_to_string(p.path.join("images.import.toml")).unwrap();
    assert!(
        rec.contains("rev_lock = \"174e9688df58b2fe2c5c9b4f4d625f6c4b90ebef\""),
        "{rec}"
    );
    assert!(
        rec.contains("md5 = \"7dce5332338a86b107915a9fc98c35ac\""),
        "{rec}"
    );
    assert!(
        rec.contains(
            "oid = \"sha256:8cc20f52aec404e02abca1dafb81fd9a85db869185ba66aa239847dd3c33b5da\""
        ),
        "{rec}"
    );
    p.commit_all("import images v1");
    let out = p.dvc(["update", "images", "--rev", "v2"]);
    assert_eq!(
        out.stderr,
        "Updated images to 58b6818235: 2 files written, 1 removed.\n"
    );
    assert_eq!(p.read("images/cats/1.txt"), b"meow 1 (edited)\n");
    assert_eq!(p.read("images/dogs/3.txt"), b"woof 3\n");
    assert!(!p.path.join("images/cats/3.txt").exists());
    p.commit_all("images v2");
    // A clone with no remote of its own fetches from the DVC remote by md5.
    env.ok(
        env.root(),
        "git",
        ["clone", "-q", "consumer", "consumer-clone"],
    );
    let c = env.at(env.root().join("consumer-clone"));
    assert_eq!(c.read("images/cats/1.txt"), b"meow 1 (edited)\n");
    assert_eq!(c.status(), "");
}

#[test]
fn dvc_objects_with_the_wrong_md5_are_refused() {
    let env = Env::new();
    let project = dvc_project(&env, "remote");
    let obj = env
        .root()
        .join("remote/files/md5/f1/897232af2a95f3492156c29f4f9301");
    fs::write(&obj, b"tampered").unwrap();
    let out_dir = env.root().join("out");
    fs::create_dir_all(&out_dir).unwrap();
    let out = env.run(
        &out_dir,
        "git-dvc",
        ["get", project.to_str().unwrap(), "model.bin"],
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("has md5 ")
            && out
                .stderr
                .contains("not f1897232af2a95f3492156c29f4f9301: refused, nothing stored"),
        "{}",
        out.stderr
    );
    assert!(!out_dir.join("model.bin").exists());
}

/// A clone of a project that imported DVC data fetches it from the DVC
/// remote, one GET per object, each weighed as one request there: over a
/// static web server with `jobs = 4`, one at a time (a request to a web
/// server takes four slots), as for the server's own objects. Before, each
/// took one slot, and four went at once.
#[test]
fn a_clone_fetches_dvc_objects_over_http_within_the_budget() {
    let env = Env::new();
    let project = dvc_project(&env, "remote");
    let http = HttpServer::start(&env.root().join("remote"));
    env.user_config("[transfer]\njobs = 4\n");
    let p = env.repo("consumer");
    p.dvc([
        "import",
        project.to_str().unwrap(),
        "data/images",
        "--rev",
        "v1",
    ]);
    let record = p.path.join("images.import.toml");
    let rec = fs::read_to_string(&record).unwrap();
    let dir = format!("\"{}\"", env.root().join("remote").display());
    let served = rec.replace(&dir, &format!("\"{}\"", http.url));
    assert_ne!(served, rec, "the record names the remote {dir}: {rec}");
    fs::write(&record, served).unwrap();
    p.commit_all("images v1, their DVC remote served over HTTP");
    http.faults.delay_ms.store(50, Ordering::SeqCst);
    let out = env.ok(env.root(), "git", ["clone", "-q", "consumer", "fresh"]);
    assert_eq!(out.stderr, "");
    let c = env.at(env.root().join("fresh"));
    assert_eq!(c.read("images/cats/3.txt"), b"purr\n");
    assert_eq!(c.status(), "");
    assert_eq!(http.faults.gets.load(Ordering::SeqCst), 5);
    assert_eq!(http.faults.max_in_flight.load(Ordering::SeqCst), 1);
}

/// An imported DVC object that grew on the DVC remote is refused where it
/// runs past the size its pointer gives: the clone leaves the pointer, and
/// a fetch names the object and the size.
#[test]
fn a_dvc_object_that_grew_is_cut_off_at_its_size() {
    let env = Env::new();
    let project = dvc_project(&env, "remote");
    let p = env.repo("consumer");
    p.dvc(["import", project.to_str().unwrap(), "model.bin"]);
    p.commit_all("model");
    let obj = env
        .root()
        .join("remote/files/md5/f1/897232af2a95f3492156c29f4f9301");
    let mut grown = fs::read(&obj).unwrap();
    let size = grown.len();
    grown.extend(std::iter::repeat_n(7u8, 1 << 20));
    fs::write(&obj, &grown).unwrap();
    let out = env.run(env.root(), "git", ["clone", "-q", "consumer", "fresh"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let c = env.at(env.root().join("fresh"));
    assert!(
        c.read("model.bin")
            .starts_with(b"version = \"git-dvc/1\"\n")
    );
    let out = c.dvc_run(["fetch"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: remote 'import:model.bin': object files/md5/f1/897232af2a95f3492156c29f4f9301 \
             runs past its {size} bytes: refused, nothing stored (model.bin)\n\
             git-dvc: error: 1 of 1 objects failed to transfer (remote 'import:model.bin')\n"
        )
    );
    let mut cached = Vec::new();
    crate::servers::walk(&c.cache(), &c.cache(), &mut cached);
    assert!(cached.is_empty(), "{cached:?}");
}
