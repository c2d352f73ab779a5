//! The "Trust" stories of the data registry: a committed import record or
//! a symlink already in the worktree can never make `get`, `import` or
//! `update` write or delete outside the output; and plain Git files of a
//! source stay plain Git files in the consumer, so any clone of it has them.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use crate::harness::{Env, Repo, data, pointer_for};
use crate::servers::{HttpServer, walk};

const README: &str = "# images\n\nCats and dogs, two of each.\n";
const LABELS: &str = "file,label\ncat.1.jpg,cat\ndog.1.jpg,dog\n";

/// A registry whose `images` folder holds data (`*.jpg`) beside plain Git
/// files (`README.md`, `train/labels.csv`), its data on a directory remote.
fn mixed_registry(env: &Env) -> Repo<'_> {
    let store = env.root().join("mixed-store");
    let r = env.repo("mixed-registry");
    r.dvc(["track", "*.jpg"]);
    r.write("images/train/cat.1.jpg", data(1, 3000));
    r.write("images/train/dog.1.jpg", data(2, 4000));
    r.write("images/README.md", README);
    r.write("images/train/labels.csv", LABELS);
    r.dvc(["remote", "add", "-d", "storage", store.to_str().unwrap()]);
    r.commit_all("images v1");
    r.dvc(["push"]);
    r.git(["tag", "v1"]);
    r
}

/// v2 of the registry: `val/cat.9.jpg` added, `train/cat.1.jpg` removed.
fn mixed_v2(r: &Repo<'_>) {
    r.write("images/val/cat.9.jpg", data(9, 2500));
    fs::remove_file(r.path.join("images/train/cat.1.jpg")).unwrap();
    r.commit_all("images v2");
    r.dvc(["push"]);
    r.git(["tag", "v2"]);
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A consumer that imported `images` at v1 and committed it.
fn consumer<'a>(env: &'a Env, reg: &Repo<'_>) -> Repo<'a> {
    let p = env.repo("project");
    p.dvc([
        "import",
        reg.path.to_str().unwrap(),
        "images",
        "--rev",
        "v1",
    ]);
    p.commit_all("import images v1");
    p
}

/// Issue item 1: the keys of `[files]` in a committed record are paths;
/// one that leaves the output is refused when the record is read, before
/// anything is written or removed.
#[test]
fn update_refuses_record_paths_that_leave_the_output() {
    let env = Env::new();
    let reg = mixed_registry(&env);
    let p = consumer(&env, &reg);
    let rec_path = p.path.join("images.import.toml");
    let clean = fs::read_to_string(&rec_path).unwrap();
    // Two levels above the output is one above the repository.
    let victim = env.root().join("victim.txt");
    fs::write(&victim, b"the only copy\n").unwrap();
    let abs_victim = env.root().join("abs-victim.txt");
    fs::write(&abs_victim, b"another only copy\n").unwrap();
    let abs_key = abs_victim.to_str().unwrap().to_string();
    for (key, target) in [
        ("../../victim.txt", &victim),
        (abs_key.as_str(), &abs_victim),
    ] {
        fs::write(
            &rec_path,
            format!(
                "{clean}\n[files.\"{key}\"]\noid = \"sha256:{}\"\nsize = 14\n",
                "0".repeat(64)
            ),
        )
        .unwrap();
        p.commit_all("a hostile record");
        let before = p.read("images/train/cat.1.jpg");
        let out = p.dvc_run(["update", "images", "--rev", "main"]);
        assert_eq!(out.code, 1, "{key}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            format!(
                "git-dvc: error: refusing unsafe path \"{key}\" in the import record ({})\n",
                rec_path.display()
            ),
            "{key}"
        );
        assert!(fs::read(target).unwrap().ends_with(b"only copy\n"), "{key}");
        // Nothing written or removed: the worktree is the commit.
        assert_eq!(p.status(), "", "{key}");
        assert_eq!(p.read("images/train/cat.1.jpg"), before);
    }
    assert_eq!(fs::read(&victim).unwrap(), b"the only copy\n");
    assert_eq!(fs::read(&abs_victim).unwrap(), b"another only copy\n");
}

/// Every other field a committed record feeds to the filesystem or to a
/// slice is checked too: no panic, a clear error naming the record.
#[test]
fn update_refuses_malformed_record_fields() {
    let env = Env::new();
    let reg = mixed_registry(&env);
    let p = consumer(&env, &reg);
    let rec_path = p.path.join("images.import.toml");
    let clean = fs::read_to_string(&rec_path).unwrap();
    let lock = reg.git(["rev-parse", "v1^{commit}"]).trim().to_string();
    let md5_line = "md5 = \"../../../../etc/passwd\"\n";
    for (edit, what) in [
        (
            clean.replace(&format!("rev_lock = \"{lock}\""), "rev_lock = \"abc\""),
            "refusing an invalid rev_lock \"abc\" in the import record".to_string(),
        ),
        (
            clean.replace("path = \"images\"", "path = \"../images\""),
            "refusing unsafe path \"../images\" in the import record".to_string(),
        ),
        (
            format!(
                "{clean}\n[files.\"x.bin\"]\noid = \"sha256:{}\"\nsize = 1\n{md5_line}",
                "a".repeat(64)
            ),
            "refusing an invalid md5 \"../../../../etc/passwd\" in the import record".to_string(),
        ),
        (
            format!("{clean}\n[files.\"x.bin\"]\noid = \"md5:1\"\nsize = 1\n"),
            "refusing an invalid oid \"md5:1\" in the import record".to_string(),
        ),
        (
            format!(
                "{clean}\n[files.\"\"]\noid = \"sha256:{}\"\nsize = 1\n",
                "a".repeat(64)
            ),
            "refusing unsafe path \"\" in the import record".to_string(),
        ),
    ] {
        fs::write(&rec_path, &edit).unwrap();
        let out = p.dvc_run(["update", "images"]);
        assert_eq!(out.code, 1, "{what}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            format!("git-dvc: error: {what} ({})\n", rec_path.display())
        );
    }
}

/// A name that is not UTF-8 in a source is refused by name, not turned
/// into an empty path (which would have meant the output itself).
#[test]
fn get_refuses_a_source_file_name_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new();
    let odd = env.repo("odd");
    odd.write("data/ok.txt", "ok\n");
    fs::write(
        odd.path
            .join("data")
            .join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt")),
        "x\n",
    )
    .unwrap();
    odd.commit_all("latin-1 name");
    let outside = env.root().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let out = env.run(
        &outside,
        "git-dvc",
        ["get", odd.path.to_str().unwrap(), "data"],
    );
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "git-dvc: error: refusing a file name that is not UTF-8 in the source (caf\u{fffd}.txt)\n"
        )
    );
    assert_eq!(files_under(&outside), Vec::<String>::new());
}

/// Issue item 2: a directory symlink committed inside the output; update
/// would have removed a file through it.
#[test]
fn update_never_deletes_through_a_committed_symlink() {
    let env = Env::new();
    let reg = mixed_registry(&env);
    let p = consumer(&env, &reg);
    let elsewhere = env.root().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::write(elsewhere.join("cat.1.jpg"), b"not the registry's\n").unwrap();
    fs::remove_dir_all(p.path.join("images/train")).unwrap();
    symlink(&elsewhere, p.path.join("images/train")).unwrap();
    p.commit_all("train is elsewhere");
    mixed_v2(&reg);
    let out = p.dvc_run(["update", "images", "--rev", "v2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "git-dvc: error: refusing to delete through a symbolic link (images/train)\n"
    );
    assert_eq!(files_under(&elsewhere), vec!["cat.1.jpg"]);
    assert_eq!(
        fs::read(elsewhere.join("cat.1.jpg")).unwrap(),
        b"not the registry's\n"
    );
    assert_eq!(p.status(), "");
}

/// Issue item 2 as reported: `imp/sub -> /somewhere` committed, and the
/// new file of the update would have landed in `/somewhere`. Nothing is
/// removed either: every path is checked before the first change.
#[test]
fn update_never_writes_through_a_committed_symlink() {
    let env = Env::new();
    let reg = mixed_registry(&env);
    let p = consumer(&env, &reg);
    let elsewhere = env.root().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    symlink(&elsewhere, p.path.join("images/val")).unwrap();
    p.commit_all("val is elsewhere");
    mixed_v2(&reg);
    let out = p.dvc_run(["update", "images", "--rev", "v2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "git-dvc: error: refusing to write through a symbolic link (images/val)\n"
    );
    assert_eq!(files_under(&elsewhere), Vec::<String>::new());
    assert_eq!(p.read("images/train/cat.1.jpg"), data(1, 3000));
    assert_eq!(p.status(), "");

    // A plain file where the update needs a directory: refused the same way.
    fs::remove_file(p.path.join("images/val")).unwrap();
    p.write("images/val", "a file\n");
    p.commit_all("val is a file");
    let out = p.dvc_run(["update", "images", "--rev", "v2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "git-dvc: error: refusing to write through a non-directory (images/val)\n"
    );
    assert_eq!(p.status(), "");
}

/// The output itself a committed symlink.
#[test]
fn update_never_goes_through_an_output_that_is_a_symlink() {
    let env = Env::new();
    let reg = mixed_registry(&env);
    let p = consumer(&env, &reg);
    let elsewhere = env.root().join("elsewhere");
    fs::rename(p.path.join("images"), &elsewhere).unwrap();
    symlink(&elsewhere, p.path.join("images")).unwrap();
    p.commit_all("images is elsewhere");
    let before = files_under(&elsewhere);
    mixed_v2(&reg);
    let out = p.dvc_run(["update", "images", "--rev", "v2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "git-dvc: error: refusing to delete through a symbolic link (images)\n"
    );
    assert_eq!(files_under(&elsewhere), before);
    assert_eq!(
        fs::read(elsewhere.join("train/cat.1.jpg")).unwrap(),
        data(1, 3000)
    );
}

/// The record itself a committed symlink (to anything outside): not read.
#[test]
fn update_never_reads_a_record_through_a_symlink() {
    let env = Env::new();
    let reg = mixed_registry(&env);
    let p = consumer(&env, &reg);
    let elsewhere = env.root().join("elsewhere.toml");
    fs::rename(p.path.join("images.import.toml"), &elsewhere).unwrap();
    symlink(&elsewhere, p.path.join("images.import.toml")).unwrap();
    p.commit_all("the record is elsewhere");
    let out = p.dvc_run(["update", "images", "--rev", "main"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "git-dvc: error: refusing to read through a symbolic link (images.import.toml)\n"
        )
    );
    assert_eq!(p.status(), "");
}

/// `get -o` and `import -o` into a directory of the worktree that holds a
/// committed symlink are refused too, before any byte (or scratch cache)
/// lands behind it; outside a repository, a symlink the user names in
/// `-o` is theirs to follow, as with `cp`.
#[test]
fn get_and_import_never_write_through_a_symlink_in_the_worktree() {
    let env = Env::new();
    let reg = mixed_registry(&env);
    let p = env.repo("project");
    let elsewhere = env.root().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    p.write("imp/keep.txt", "x\n");
    symlink(&elsewhere, p.path.join("imp/sub")).unwrap();
    p.commit_all("imp/sub is elsewhere");
    let src = reg.path.to_str().unwrap();
    for cmd in ["get", "import"] {
        let out = p.dvc_run([cmd, src, "images/train", "-o", "imp/sub/train"]);
        assert_eq!(out.code, 1, "{cmd}: {}", out.stderr);
        assert_eq!(
            out.stderr, "git-dvc: error: refusing to write through a symbolic link (imp/sub)\n",
            "{cmd}"
        );
        assert!(fs::read_dir(&elsewhere).unwrap().next().is_none(), "{cmd}");
        assert_eq!(p.status(), "", "{cmd}");
    }
    // A single file straight into the symlinked directory.
    let out = p.dvc_run(["get", src, "images/README.md", "-o", "imp/sub/README.md"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "git-dvc: error: refusing to write through a symbolic link (imp/sub)\n"
        )
    );
    assert!(fs::read_dir(&elsewhere).unwrap().next().is_none());

    let outside = env.root().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let mine = env.root().join("mine");
    fs::create_dir_all(&mine).unwrap();
    symlink(&mine, outside.join("link")).unwrap();
    env.ok(
        &outside,
        "git-dvc",
        ["get", src, "images/train", "-o", "link/train"],
    );
    assert_eq!(
        files_under(&mine),
        vec!["train/cat.1.jpg", "train/dog.1.jpg", "train/labels.csv"]
    );
}

/// How the registry is reached in the fresh-clone stories.
enum Reach {
    Directory,
    FileUrl,
    Http,
}

/// Issue item 8: plain Git files beside the data in an imported folder
/// stay plain Git files in the consumer, so a fresh clone of the consumer
/// has every file, byte for byte, and `git dvc pull` succeeds.
fn plain_files_reach_a_fresh_clone(reach: Reach) {
    let env = Env::new();
    let reg = mixed_registry(&env);
    // Over HTTP, the registry and its data are both behind web servers.
    let (url, _servers) = match reach {
        Reach::Directory => (reg.path.to_str().unwrap().to_string(), vec![]),
        Reach::FileUrl => (format!("file://{}", reg.path.display()), vec![]),
        Reach::Http => {
            let data_http = HttpServer::start(&env.root().join("mixed-store"));
            reg.dvc(["remote", "set", "storage", "url", &data_http.url]);
            reg.commit_all("serve the data over http");
            reg.git(["tag", "-f", "v1"]);
            reg.git(["update-server-info"]);
            let git_http = HttpServer::start(&reg.path.join(".git"));
            (git_http.url.clone(), vec![data_http, git_http])
        }
    };
    let p = env.repo("project");
    let out = p.dvc(["import", &url, "images"]);
    assert!(
        out.stderr.starts_with("Imported images from ")
            && out.stderr.ends_with(" into images (4 files).\n"),
        "{}",
        out.stderr
    );
    assert_eq!(
        String::from_utf8(p.read(".gitattributes")).unwrap(),
        "images/** filter=dvc diff=dvc merge=dvc -text\n\
         images/README.md !filter !diff !merge\n\
         images/train/labels.csv !filter !diff !merge\n"
    );
    p.commit_all("import images");
    assert_eq!(p.status(), "");
    let st = p.dvc(["status"]);
    assert_eq!(
        (st.stdout.as_str(), st.stderr.as_str()),
        ("Everything is up to date.\n", "")
    );
    // Plain files are committed as ordinary blobs; data as pointers.
    assert_eq!(p.git(["cat-file", "-p", "HEAD:images/README.md"]), README);
    assert_eq!(
        p.git(["cat-file", "-p", "HEAD:images/train/labels.csv"]),
        LABELS
    );
    assert_eq!(
        p.git(["cat-file", "-p", "HEAD:images/train/cat.1.jpg"]),
        pointer_for(&data(1, 3000))
    );

    env.ok(env.root(), "git", ["init", "-q", "--bare", "hub.git"]);
    let pushed = p.git_run([
        "push",
        "-q",
        env.root().join("hub.git").to_str().unwrap(),
        "main",
    ]);
    assert_eq!((pushed.code, pushed.stderr.as_str()), (0, ""));
    env.ok(env.root(), "git", ["clone", "-q", "hub.git", "clone"]);
    let c = env.at(env.root().join("clone"));
    assert_eq!(c.read("images/README.md"), README.as_bytes());
    assert_eq!(c.read("images/train/labels.csv"), LABELS.as_bytes());
    assert_eq!(c.read("images/train/cat.1.jpg"), data(1, 3000));
    assert_eq!(c.read("images/train/dog.1.jpg"), data(2, 4000));
    let pull = c.dvc_run(["pull"]);
    assert_eq!(pull.code, 0, "{}", pull.stderr);
    assert_eq!(c.status(), "");
    assert_eq!(c.dvc(["status"]).stdout, "Everything is up to date.\n");
    assert_eq!(
        files_under(&c.path.join("images")),
        vec![
            "README.md",
            "train/cat.1.jpg",
            "train/dog.1.jpg",
            "train/labels.csv"
        ]
    );
}

#[test]
fn plain_files_reach_a_fresh_clone_from_a_directory_registry() {
    plain_files_reach_a_fresh_clone(Reach::Directory);
}

#[test]
fn plain_files_reach_a_fresh_clone_from_a_file_url_registry() {
    plain_files_reach_a_fresh_clone(Reach::FileUrl);
}

#[test]
fn plain_files_reach_a_fresh_clone_from_an_http_registry() {
    plain_files_reach_a_fresh_clone(Reach::Http);
}

/// `update` keeps the plain-file lines right as files are added, removed
/// and change kind upstream (data becoming a plain file and back), and a
/// fresh clone after the update still has every file.
#[test]
fn update_keeps_plain_files_plain_as_they_come_and_go() {
    let env = Env::new();
    let reg = mixed_registry(&env);
    reg.dvc(["track", "*.json"]);
    reg.write("images/meta.json", "{\"classes\": 2}\n");
    reg.write("images/sizes.txt", "3000\n4000\n");
    reg.commit_all("meta (data) and sizes (plain)");
    reg.dvc(["push"]);
    let p = env.repo("project");
    p.dvc(["import", reg.path.to_str().unwrap(), "images"]);
    assert_eq!(
        String::from_utf8(p.read(".gitattributes")).unwrap(),
        "images/** filter=dvc diff=dvc merge=dvc -text\n\
         images/README.md !filter !diff !merge\n\
         images/sizes.txt !filter !diff !merge\n\
         images/train/labels.csv !filter !diff !merge\n"
    );
    p.commit_all("import images");

    // Upstream: a new plain file, a removed one, a changed one, and the
    // two kinds swapped (meta.json now plain, sizes.txt now data).
    reg.write("images/LICENSE", "CC-BY-4.0\n");
    fs::remove_file(reg.path.join("images/train/labels.csv")).unwrap();
    reg.write("images/README.md", "# images v2\n");
    reg.dvc(["untrack", "*.json"]);
    reg.dvc(["track", "*.txt"]);
    reg.git(["add", "-A"]);
    reg.git(["add", "--renormalize", "."]);
    reg.commit_all("v2");
    reg.dvc(["push"]);
    assert_eq!(
        reg.git(["cat-file", "-p", "HEAD:images/meta.json"]),
        "{\"classes\": 2}\n"
    );

    let out = p.dvc(["update", "images"]);
    let head = reg.git(["rev-parse", "HEAD"]);
    assert_eq!(
        out.stderr,
        format!(
            "Updated images to {}: 4 files written, 1 removed.\n",
            &head[..10]
        )
    );
    assert_eq!(
        String::from_utf8(p.read(".gitattributes")).unwrap(),
        "images/** filter=dvc diff=dvc merge=dvc -text\n\
         images/README.md !filter !diff !merge\n\
         images/LICENSE !filter !diff !merge\n\
         images/meta.json !filter !diff !merge\n"
    );
    p.commit_all("update images");
    assert_eq!(p.status(), "");
    assert_eq!(
        p.git(["cat-file", "-p", "HEAD:images/meta.json"]),
        "{\"classes\": 2}\n"
    );
    assert_eq!(
        p.git(["cat-file", "-p", "HEAD:images/sizes.txt"]),
        pointer_for(b"3000\n4000\n")
    );
    assert_eq!(
        p.git(["cat-file", "-p", "HEAD:images/LICENSE"]),
        "CC-BY-4.0\n"
    );

    env.ok(env.root(), "git", ["clone", "-q", "project", "clone"]);
    let c = env.at(env.root().join("clone"));
    assert_eq!(
        files_under(&c.path.join("images")),
        vec![
            "LICENSE",
            "README.md",
            "meta.json",
            "sizes.txt",
            "train/cat.1.jpg",
            "train/dog.1.jpg"
        ]
    );
    assert_eq!(c.read("images/README.md"), b"# images v2\n");
    assert_eq!(c.read("images/meta.json"), b"{\"classes\": 2}\n");
    assert_eq!(c.read("images/sizes.txt"), b"3000\n4000\n");
    assert_eq!(c.read("images/LICENSE"), b"CC-BY-4.0\n");
    assert_eq!(c.dvc_run(["pull"]).code, 0);
    assert_eq!(c.status(), "");
}

/// A single plain Git file imported on its own is not tracked as data.
#[test]
fn a_single_plain_file_import_stays_plain() {
    let env = Env::new();
    let reg = mixed_registry(&env);
    let p = env.repo("project");
    // A relative local source is recorded as an absolute path.
    p.dvc(["import", "../mixed-registry", "images/README.md"]);
    assert!(
        fs::read_to_string(p.path.join("README.md.import.toml"))
            .unwrap()
            .starts_with(&format!("url = \"{}\"\n", reg.path.display())),
    );
    assert!(!p.path.join(".gitattributes").exists());
    p.commit_all("import the readme");
    assert_eq!(p.git(["cat-file", "-p", "HEAD:README.md"]), README);
    p.dvc([
        "import",
        reg.path.to_str().unwrap(),
        "images/train/cat.1.jpg",
    ]);
    assert_eq!(
        String::from_utf8(p.read(".gitattributes")).unwrap(),
        "cat.1.jpg filter=dvc diff=dvc merge=dvc -text\n"
    );
}

/// An import made before plain files were kept plain (README committed as
/// data, no lines for it) is put right by the next update, even to the
/// same commit.
#[test]
fn an_update_heals_an_import_that_tracked_plain_files_as_data() {
    let env = Env::new();
    let reg = mixed_registry(&env);
    let p = env.repo("project");
    p.dvc(["import", reg.path.to_str().unwrap(), "images"]);
    // What an older git-dvc left: no `plain` in the record, no lines.
    let rec_path = p.path.join("images.import.toml");
    let rec = fs::read_to_string(&rec_path).unwrap();
    fs::write(&rec_path, rec.replace("plain = true\n", "")).unwrap();
    p.write(
        ".gitattributes",
        "images/** filter=dvc diff=dvc merge=dvc -text\n",
    );
    p.commit_all("import images the old way");
    assert_eq!(
        p.git(["cat-file", "-p", "HEAD:images/README.md"]),
        pointer_for(README.as_bytes())
    );
    let out = p.dvc(["update", "images", "--rev", "main"]);
    assert!(
        out.stderr.ends_with(": 2 files written, 0 removed.\n"),
        "{}",
        out.stderr
    );
    p.commit_all("update");
    assert_eq!(p.status(), "");
    assert_eq!(p.git(["cat-file", "-p", "HEAD:images/README.md"]), README);
    assert_eq!(
        p.git(["cat-file", "-p", "HEAD:images/train/labels.csv"]),
        LABELS
    );
}
