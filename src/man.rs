//! Man pages, generated from the clap definitions so they cannot drift from
//! what `--help` says (a test compares them with `man/`).

use clap::CommandFactory;

use crate::cli::Cli;

/// Every page as (file name, roff text): `git-dvc.1` and one per command,
/// `git-dvc-<command>.1` (nested: `git-dvc-remote-add.1`).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let root = Cli::command();
    let mut out = Vec::new();
    render(&root, "git-dvc", "git dvc", &mut out);
    out
}

fn render(cmd: &clap::Command, name: &str, bin: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let page = cmd.clone().name(name.to_string()).bin_name(bin.to_string());
    let mut buf = Vec::new();
    clap_mangen::Man::new(page)
        .title(name.to_uppercase())
        .section("1")
        .manual("git-dvc manual")
        .source(format!("git-dvc {}", env!("CARGO_PKG_VERSION")))
        .render(&mut buf)
        .expect("rendering to memory cannot fail");
    out.push((format!("{name}.1"), buf));
    for sub in cmd.get_subcommands() {
        render(
            sub,
            &format!("{name}-{}", sub.get_name()),
            &format!("{bin} {}", sub.get_name()),
            out,
        );
    }
}

/// Shell completion script for `shell` (bash, zsh, fish, elvish, powershell).
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "git-dvc", &mut buf);
    buf
}
