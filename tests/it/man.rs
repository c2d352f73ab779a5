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
