//! The "Trust" stories of the data registry: a committed import record or
//! a symlink already in the worktree can never make `get`, `import` or
//! `update` write or delete outside the output; and plain Git files of a
//! source stay plain Git files in the consumer, so any clone of it has them.

use std::fs;
use std::path::Path;

use crate::harness::{Env, Repo, data};
use crate::servers::walk;

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
