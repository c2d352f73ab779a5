//! `git dvc install` / `uninstall`: settings, hooks, idempotence, and
//! respect for hooks that are not ours.

use std::fs;

use crate::harness::Env;

const KEYS: &str = "filter.dvc.process git-dvc filter-process
filter.dvc.clean git-dvc clean -- %f
filter.dvc.smudge git-dvc smudge -- %f
filter.dvc.required true
diff.dvc.textconv git-dvc pointer --textconv
";

#[test]
fn global_install_is_idempotent_and_uninstall_removes_exactly_it() {
    let env = Env::bare();
    let home = env.home();
    let out = env.ok(&home, "git-dvc", ["install"]);
    assert_eq!(out.stderr, "git-dvc initialized.\n");
    let cfg = |env: &Env| {
        env.run(
            &home,
            "git",
            [
                "config",
                "--global",
                "--get-regexp",
                "^(filter|diff)\\.dvc\\.",
            ],
        )
        .stdout
    };
    assert_eq!(cfg(&env), KEYS);
    let before = fs::read(home.join(".gitconfig")).unwrap();
    env.ok(&home, "git-dvc", ["install"]);
    assert_eq!(
        fs::read(home.join(".gitconfig")).unwrap(),
        before,
        "second install changes nothing"
    );

    env.ok(
        &home,
        "git",
        ["config", "--global", "filter.other.clean", "cat"],
    );
    let out = env.ok(&home, "git-dvc", ["uninstall"]);
    assert_eq!(out.stderr, "git-dvc uninstalled.\n");
    assert_eq!(cfg(&env), "");
    let text = fs::read_to_string(home.join(".gitconfig")).unwrap();
    assert!(!text.contains("dvc"), "{text}");
    assert!(text.contains("[filter \"other\"]"), "{text}");
}

#[test]
fn install_in_a_repo_writes_hooks_and_refuses_a_foreign_one() {
    let env = Env::bare();
    let r = env.repo("p");
    let hooks = r.path.join(".git/hooks");
    fs::write(hooks.join("pre-push"), "#!/bin/sh\necho mine\n").unwrap();

    let out = r.dvc_run(["install", "--local"]);
    assert_eq!(out.code, 1);
    let pre_push = hooks.join("pre-push");
    assert_eq!(
        out.stderr,
        format!(
            "git-dvc: error: hook already exists and was not written by git-dvc ({}); to chain it, add the line\n    git dvc hook pre-push \"$@\"\nto it, or run `git dvc install --force` to replace it\n",
            pre_push.display()
        )
    );
    assert_eq!(
        fs::read_to_string(&pre_push).unwrap(),
        "#!/bin/sh\necho mine\n",
        "left alone"
    );
    assert_eq!(
        fs::read_to_string(hooks.join("post-checkout")).unwrap(),
        include_str!("../../hooks/post-checkout")
    );
    assert_eq!(
        fs::read_to_string(hooks.join("post-merge")).unwrap(),
        include_str!("../../hooks/post-merge")
    );
    assert_eq!(
        r.git(["config", "--local", "filter.dvc.process"]),
        "git-dvc filter-process\n"
    );

    // Chained by hand: accepted.
    fs::write(
        &pre_push,
        "#!/bin/sh\necho mine\ngit dvc hook pre-push \"$@\"\n",
    )
    .unwrap();
    let out = r.dvc(["install", "--local"]);
    assert_eq!(out.stderr, "git-dvc initialized.\n");

    // --force replaces it; uninstall then removes only git-dvc's hooks.
    fs::write(&pre_push, "#!/bin/sh\necho mine\n").unwrap();
    r.dvc(["install", "--local", "--force"]);
    assert_eq!(
        fs::read_to_string(&pre_push).unwrap(),
        include_str!("../../hooks/pre-push")
    );
    fs::write(hooks.join("pre-commit"), "#!/bin/sh\n").unwrap();
    r.dvc(["uninstall", "--local"]);
    assert!(
        !pre_push.exists()
            && !hooks.join("post-checkout").exists()
            && !hooks.join("post-merge").exists()
    );
    assert!(hooks.join("pre-commit").exists());
    assert_eq!(
        r.git_run(["config", "--local", "--get-regexp", "dvc"])
            .stdout,
        ""
    );
}

#[test]
fn skip_smudge_install_leaves_pointers() {
    let env = Env::new();
    let r = env.repo("p");
    r.dvc(["track", "*.bin"]);
    let v = crate::harness::data(1, 5000);
    r.write("a.bin", &v);
    r.commit_all("v1");
    r.dvc(["install", "--local", "--skip-smudge"]);
    assert_eq!(
        r.git(["config", "--local", "filter.dvc.process"]),
        "git-dvc filter-process --skip\n"
    );
    fs::remove_file(r.path.join("a.bin")).unwrap();
    r.git(["checkout", "--", "a.bin"]);
    assert_eq!(r.read("a.bin"), crate::harness::pointer_for(&v).as_bytes());
    assert_eq!(r.status(), "");
    // `git dvc checkout` materializes on request.
    let out = r.dvc(["checkout"]);
    assert_eq!(out.stderr, "Checked out 1 file.\n");
    assert_eq!(r.read("a.bin"), v);
    assert_eq!(r.status(), "");
}

#[test]
fn hook_scripts_run_git_dvc() {
    for (name, _) in git_dvc::hooks::HOOKS {
        let text = fs::read_to_string(format!("hooks/{name}")).unwrap();
        assert!(text.starts_with("#!/bin/sh\n"));
        assert!(text.contains(git_dvc::hooks::MARKER));
        assert!(text.ends_with(&format!("exec git dvc hook {name} \"$@\"\n")));
    }
}
