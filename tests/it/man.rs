//! The man pages in `man/` are exactly what the clap definitions generate.
//! Regenerate with `GIT_DVC_BLESS=1 cargo test man_pages`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

#[test]
fn man_pages_are_in_sync() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages = git_dvc::man::pages();
    if std::env::var_os("GIT_DVC_BLESS").is_some() {
        fs::create_dir_all(&dir).unwrap();
        for f in fs::read_dir(&dir).unwrap().flatten() {
            fs::remove_file(f.path()).unwrap();
        }
        for (name, text) in &pages {
            fs::write(dir.join(name), text).unwrap();
        }
    }
    let on_disk: BTreeSet<String> = fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let generated: BTreeSet<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        on_disk, generated,
        "man/ lists other pages: run GIT_DVC_BLESS=1 cargo test man_pages"
    );
    for (name, text) in &pages {
        let disk = fs::read(dir.join(name)).unwrap();
        assert!(
            disk == *text,
            "man/{name} is out of date: run GIT_DVC_BLESS=1 cargo test man_pages"
        );
    }
    assert!(generated.contains("git-dvc-install.1") && generated.contains("git-dvc-remote-add.1"));
}

/// `man git-dvc` documents what --help cannot: the config files and their
/// trust rule, every key, the environment the code honours, the files.
#[test]
fn top_page_has_configuration_environment_and_files() {
    let pages = git_dvc::man::pages();
    let (_, top) = pages.iter().find(|(n, _)| n == "git-dvc.1").unwrap();
    let top = String::from_utf8(top.clone()).unwrap();
    let sections: Vec<&str> = top.lines().filter_map(|l| l.strip_prefix(".SH ")).collect();
    assert_eq!(
        sections,
        [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "SUBCOMMANDS",
            "CONFIGURATION",
            "ENVIRONMENT",
            "FILES",
            "VERSION"
        ]
    );
    // roff spells `-` as `\-`; compare on the text a reader sees.
    let text = top
        .replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "");
    for needle in [
        "$XDG_CONFIG_HOME/git-dvc/config.toml",
        ".gitdvc.toml",
        "<git-common-dir>/dvc/config.toml",
        "read only for [core] remote, [remote.*] and [transfer]",
        "[core] remote",
        "url",
        "endpoint",
        "region",
        "profile",
        "read_only",
        "[cache] dir",
        "[transfer] jobs",
        "[checkout] direct_size",
        "GIT_DVC_SKIP_SMUDGE",
        "GIT_DVC_SKIP_PUSH",
        "GIT_DVC_REMOTE",
        "GIT_DVC_JOBS",
        "XDG_CONFIG_HOME",
        "<git-common-dir>/dvc/cache/",
        "quarantine",
        "post-checkout",
        "pre-push",
        "~/.netrc",
    ] {
        assert!(
            text.contains(needle),
            "man git-dvc does not mention {needle:?}"
        );
    }
    // Every GIT_DVC_ variable the code reads is documented.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut vars = std::collections::BTreeSet::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let code = fs::read_to_string(&p).unwrap();
                for (i, _) in code.match_indices("\"GIT_DVC_") {
                    let name: String = code[i + 1..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    vars.insert(name);
                }
            }
        }
    }
    assert!(vars.len() >= 4, "{vars:?}");
    for v in &vars {
        assert!(
            text.contains(v.as_str()),
            "man git-dvc does not document {v}"
        );
    }
}
