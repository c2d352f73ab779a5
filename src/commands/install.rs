//! `git dvc install` / `uninstall`: Git's filter and diff settings, and hooks.

use anyhow::{Result, bail};

use crate::cli::{GitScope, InstallArgs, UninstallArgs};
use crate::hooks::{self, HookState};
use crate::repo::{Repo, run_git};
use crate::ui;

/// The Git settings git-dvc needs, for normal or skip-smudge installs.
pub fn settings(skip_smudge: bool) -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "filter.dvc.process",
            if skip_smudge {
                "git-dvc filter-process --skip"
            } else {
                "git-dvc filter-process"
            },
        ),
        ("filter.dvc.clean", "git-dvc clean -- %f"),
        (
            "filter.dvc.smudge",
            if skip_smudge {
                "git-dvc smudge --skip -- %f"
            } else {
                "git-dvc smudge -- %f"
            },
        ),
        ("filter.dvc.required", "true"),
        ("diff.dvc.textconv", "git-dvc pointer --textconv"),
        ("merge.dvc.name", "git-dvc pointer merge"),
        ("merge.dvc.driver", "git-dvc merge-driver %O %A %B %P"),
    ]
}

fn scope_flag(s: GitScope) -> &'static str {
    if s.local {
        "--local"
    } else if s.system {
        "--system"
    } else {
        "--global"
    }
}

fn git_config(repo: Option<&Repo>, args: &[&str]) -> Result<Option<String>, crate::error::Error> {
    let mut cmd = match repo {
        Some(r) => r.git_cmd(),
        None => std::process::Command::new("git"),
    };
    cmd.arg("config");
    match run_git(cmd, args, None) {
        Ok(out) => Ok(Some(String::from_utf8_lossy(&out).trim_end().to_string())),
        // `git config --get` exits 1 when the key is not set.
        Err(crate::error::Error::Git { message, .. }) if message.is_empty() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Runs `git dvc install`.
pub fn install(args: &InstallArgs) -> Result<()> {
    let repo = Repo::discover().ok();
    let scope = scope_flag(args.scope);
    if scope == "--local" && repo.is_none() {
        bail!("--local needs a git repository (run it inside one)");
    }
    let known: Vec<&str> = settings(false)
        .iter()
        .chain(settings(true).iter())
        .map(|(_, v)| *v)
        .collect();
    for (key, value) in settings(args.skip_smudge) {
        let current = git_config(repo.as_ref(), &[scope, "--get", key])?;
        match current.as_deref() {
            Some(v) if v == value => {}
            // Switching between skip and normal installs is ours to do.
            Some(v) if !args.force && !known.contains(&v) && !v.is_empty() => {
                bail!(
                    "{key} is set to '{v}', not '{value}'; run `git dvc install --force` to replace it ({scope})"
                )
            }
            _ => {
                git_config(repo.as_ref(), &[scope, "--replace-all", key, value])?;
            }
        }
    }
    let mut foreign = Vec::new();
    if let Some(repo) = repo.as_ref().filter(|r| r.workdir.is_some()) {
        for (name, state) in hooks::install(repo, args.force)? {
            match state {
                HookState::Written => ui::verbose(&format!("wrote the {name} hook")),
                HookState::Foreign(path) => foreign.push((name, path)),
                HookState::Current | HookState::Chained => {}
            }
        }
    }
    for (name, path) in &foreign {
        ui::error(&format!(
            "hook already exists and was not written by git-dvc ({}); to chain it, add the line\n    git dvc hook {name} \"$@\"\nto it, or run `git dvc install --force` to replace it",
            path.display()
        ));
    }
    if !foreign.is_empty() {
        return Err(crate::context::Exit { code: 1 }.into());
    }
    ui::info("git-dvc initialized.");
    Ok(())
}

/// Runs `git dvc uninstall`.
pub fn uninstall(args: &UninstallArgs) -> Result<()> {
    let repo = Repo::discover().ok();
    let scope = scope_flag(args.scope);
    if scope == "--local" && repo.is_none() {
        bail!("--local needs a git repository (run it inside one)");
    }
    let ours: Vec<(&str, &str)> = settings(false).into_iter().chain(settings(true)).collect();
    for (key, _) in settings(false) {
        let current = git_config(repo.as_ref(), &[scope, "--get", key])?;
        if let Some(v) = current {
            if ours.iter().any(|(k, val)| *k == key && *val == v) {
                git_config(repo.as_ref(), &[scope, "--unset-all", key])?;
            } else {
                ui::warn(&format!(
                    "{key} is '{v}', which git-dvc did not set: left as it is ({scope})"
                ));
            }
        }
    }
    for section in ["filter.dvc", "diff.dvc", "merge.dvc"] {
        let pattern = format!("^{}\\.", section.replace('.', "\\."));
        if git_config(repo.as_ref(), &[scope, "--get-regexp", &pattern])?.is_none() {
            // Leaves no empty [filter "dvc"] header behind; absent is fine.
            let _ = git_config(repo.as_ref(), &[scope, "--remove-section", section]);
        }
    }
    if let Some(repo) = repo.as_ref().filter(|r| r.workdir.is_some()) {
        for path in hooks::uninstall(repo)? {
            ui::warn(&format!(
                "this hook still calls git-dvc; remove that line by hand ({})",
                path.display()
            ));
        }
    }
    ui::info("git-dvc uninstalled.");
    Ok(())
}
