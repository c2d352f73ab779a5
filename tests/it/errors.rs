//! The contract for user-facing errors, pinned: every failure prints one
//! line `git-dvc: error: <what> (<which>)` and exits 1. Each snapshot is
//! the real binary's exit code and stderr, with the scratch directory's
//! path replaced by `[TMP]`.

use crate::harness::{Env, Repo, Run};

/// Exit code and stderr, as the snapshot holds them.
fn shown(r: &Run) -> String {
    format!("exit {}\n{}", r.code, r.stderr)
}

/// Snapshots `r` under `name`, with temp paths filtered out.
fn check(name: &str, r: &Run) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/[^\s()']*git-dvc-test-[A-Za-z0-9_]+", "[TMP]");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, shown(r)));
}

fn repo(env: &Env) -> Repo<'_> {
    let r = env.repo("p");
    r.write("README", "hi\n");
    r.commit_all("init");
    r
}

#[test]
fn error_outside_a_repository() {
    let env = Env::new();
    check(
        "error_outside_a_repository",
        &env.run(env.root(), "git-dvc", ["status"]),
    );
}

#[test]
fn error_push_to_a_mistyped_remote() {
    let env = Env::new();
    let r = repo(&env);
    check(
        "error_push_to_a_mistyped_remote",
        &r.dvc_run(["push", "orign"]),
    );
}

#[test]
fn error_committed_config_with_a_string_remote() {
    let env = Env::new();
    let r = repo(&env);
    r.write(".gitdvc.toml", "remote = \"oops\"\n");
    check(
        "error_committed_config_with_a_string_remote",
        &r.dvc_run(["remote", "add", "store", "/tmp/store"]),
    );
}

#[test]
fn error_ls_files_of_an_unknown_revision() {
    let env = Env::new();
    let r = repo(&env);
    check(
        "error_ls_files_of_an_unknown_revision",
        &r.dvc_run(["ls-files", "nosuchrev"]),
    );
}

#[test]
fn error_get_from_a_source_that_is_not_there() {
    let env = Env::new();
    let missing = env.root().join("nowhere");
    check(
        "error_get_from_a_source_that_is_not_there",
        &env.run(
            env.root(),
            "git-dvc",
            ["get", missing.to_str().unwrap(), "data.bin"],
        ),
    );
}

#[test]
fn error_update_of_something_not_imported() {
    let env = Env::new();
    let r = repo(&env);
    check(
        "error_update_of_something_not_imported",
        &r.dvc_run(["update", "README"]),
    );
}

#[test]
fn error_fsck_of_an_unknown_remote() {
    let env = Env::new();
    let r = repo(&env);
    check(
        "error_fsck_of_an_unknown_remote",
        &r.dvc_run(["fsck", "--remote", "nosuch"]),
    );
}

#[test]
fn error_pointer_of_a_missing_file() {
    let env = Env::new();
    let r = repo(&env);
    check(
        "error_pointer_of_a_missing_file",
        &r.dvc_run(["pointer", "nosuch.bin"]),
    );
}

#[test]
fn error_fsck_of_a_remote_directory_that_is_gone() {
    let env = Env::new();
    let r = repo(&env);
    let gone = env.root().join("unmounted");
    r.dvc(["remote", "add", "-d", "store", gone.to_str().unwrap()]);
    check(
        "error_fsck_of_a_remote_directory_that_is_gone",
        &r.dvc_run(["fsck", "--remote", "store"]),
    );
}

#[test]
fn error_track_with_a_negative_pattern() {
    let env = Env::new();
    let r = repo(&env);
    check(
        "error_track_with_a_negative_pattern",
        &r.dvc_run(["track", "!a.bin"]),
    );
}

#[test]
fn error_diff_against_an_unknown_revision() {
    let env = Env::new();
    let r = repo(&env);
    check(
        "error_diff_against_an_unknown_revision",
        &r.dvc_run(["diff", "nosuchrev"]),
    );
}

#[test]
fn error_import_over_an_existing_output() {
    let env = Env::new();
    let src = repo(&env);
    let r = env.repo("q");
    r.write("README", "hi\n");
    r.commit_all("init");
    check(
        "error_import_over_an_existing_output",
        &r.dvc_run(["import", src.path.to_str().unwrap(), "README"]),
    );
}
