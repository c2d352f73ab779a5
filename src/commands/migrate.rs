//! `git dvc migrate dvc|lfs|import`: one library call to migrate, then
//! (with --remote) a push of what it stored, and the summary.

use anyhow::Result;

use super::Ctx;
use crate::cli::{MigrateArgs, MigrateCommand};
use crate::migrate::{self, Converter, History, Options, Summary};
use crate::sync::{finish, open_transfer};
use crate::ui::{self, human_size};

struct Common<'a> {
    remote: Option<&'a str>,
    history: History,
    dry_run: bool,
}

fn history(rewrite: bool, everything: bool, refs: &[String]) -> History {
    match (rewrite, everything) {
        (false, _) => History::None,
        (true, true) => History::Everything,
        (true, false) if refs.is_empty() => History::Current,
        (true, false) => History::Refs(refs.to_vec()),
    }
}

fn common(a: &MigrateArgs) -> Common<'_> {
    Common {
        remote: a.remote.as_deref(),
        history: history(a.rewrite_history, a.everything, &a.refs),
        dry_run: a.dry_run,
    }
}

/// Runs `git dvc migrate …`.
pub fn run(cmd: &MigrateCommand) -> Result<()> {
    let ctx = Ctx::open()?;
    let (mut conv, c, from): (Box<dyn Converter>, Common<'_>, &str) = match cmd {
        MigrateCommand::Dvc(a) => (
            Box::new(migrate::dvc::DvcConverter::new(
                &ctx.repo,
                ctx.cache.clone(),
                ctx.config.jobs,
            )?),
            common(a),
            "DVC",
        ),
        MigrateCommand::Lfs(a) => (
            Box::new(migrate::lfs::LfsConverter::new(
                &ctx.repo,
                ctx.cache.clone(),
            )),
            common(a),
            "git-lfs",
        ),
        MigrateCommand::Import(a) => (
            Box::new(migrate::import::ImportConverter::new(
                ctx.cache.clone(),
                &a.patterns,
            )),
            Common {
                remote: a.remote.as_deref(),
                history: history(a.rewrite_history, a.everything, &a.refs),
                dry_run: a.dry_run,
            },
            "plain Git",
        ),
    };
    if let Some(r) = c.remote {
        // Fail before any work when the remote is not usable.
        ctx.config.remote(Some(r))?;
    }
    let opts = Options {
        history: c.history.clone(),
        dry_run: c.dry_run,
    };
    let summary = migrate::run(&ctx.repo, conv.as_mut(), &opts)?;
    if !c.dry_run && summary.tree_changed {
        // Files at or above [checkout] direct_size are written by git-dvc,
        // not through Git's pipe: finish them as `git dvc checkout` would.
        let files = crate::checkout::pointer_files(&ctx.repo, &[])?;
        if !files.is_empty() {
            let report = crate::checkout::materialize(
                &ctx.repo,
                &ctx.cache,
                &files,
                ctx.config.direct_size,
            )?;
            report.print();
        }
    }
    report(&summary, from, matches!(cmd, MigrateCommand::Dvc(_)), &ctx);
    if matches!(cmd, MigrateCommand::Lfs(_)) && !c.dry_run {
        for l in migrate::lfs::leftovers(&ctx.repo) {
            ui::out(&l);
        }
    }
    if let (Some(r), false) = (c.remote, c.dry_run) {
        let transfer = open_transfer(&ctx, Some(r))?;
        let pointers = summary.pointers();
        let files: Vec<crate::tracked::TrackedFile> = Vec::new();
        let rep = transfer.upload(&pointers);
        finish(&rep, &files, "Uploaded", transfer.remote_name())?;
    }
    Ok(())
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn report(s: &Summary, from: &str, dvc: bool, ctx: &Ctx) {
    let st = &s.stats;
    for n in &st.notes {
        ui::warn(n);
    }
    if s.dry_run {
        let what = if dvc {
            plural(st.found, "output", "outputs")
        } else {
            plural(st.found, "file", "files")
        };
        ui::out(&format!(
            "Dry run: nothing was written. At HEAD, {what} ({}) would move from {from} to git-dvc.",
            human_size(st.found_bytes)
        ));
        if s.rewrote_history {
            ui::out(&format!(
                "{} would be rewritten; refs that would move:",
                plural(s.commits as u64, "commit", "commits")
            ));
            for r in &s.refs {
                ui::out(&format!("  {} (backup {})", r.name, r.backup));
            }
        }
        return;
    }
    if !s.tree_changed && s.refs.is_empty() {
        ui::out(&format!("Nothing to migrate from {from}: already done."));
        return;
    }
    if s.tree_changed {
        ui::out(&format!(
            "Migrated {} ({}) from {from} at HEAD; {} in the cache.",
            plural(st.files, "file", "files"),
            human_size(st.bytes),
            plural(st.objects.len() as u64, "object", "objects"),
        ));
    } else {
        ui::out(&format!(
            "HEAD's tree was already migrated; {} from older commits {} in the cache.",
            plural(st.objects.len() as u64, "object", "objects"),
            if st.objects.len() == 1 { "is" } else { "are" },
        ));
    }
    if dvc {
        for l in migrate::dvc::leftovers(&ctx.repo) {
            ui::out(&l);
        }
    }
    if !s.rewrote_history {
        ui::out("The changes are staged: review them with `git status`, then commit.");
        ui::out("Old commits are unchanged; `--rewrite-history` converts them too.");
        return;
    }
    ui::out(&format!(
        "Rewrote {} and moved {}:",
        plural(s.commits as u64, "commit", "commits"),
        plural(s.refs.len() as u64, "ref", "refs")
    ));
    for r in &s.refs {
        ui::out(&format!(
            "  {} {} -> {} (backup {})",
            r.name,
            &r.old.to_string()[..10],
            &r.new.to_string()[..10],
            r.backup
        ));
    }
    ui::out("Next: push the data (`git dvc push --all`), then force-push the rewritten refs");
    ui::out(
        "(`git push --force-with-lease <remote> <branch>…`, `git push --force <remote> --tags`),",
    );
    ui::out(
        "and tell collaborators to re-clone or reset onto them: old clones still hold the old history.",
    );
    ui::out(&format!(
        "Once satisfied, delete the backups: git for-each-ref --format='delete %(refname)' {} | git update-ref --stdin",
        migrate::BACKUP_PREFIX
    ));
}
