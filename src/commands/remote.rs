//! `git dvc remote add|list|remove|set|default`.

use anyhow::{Result, bail};

use crate::cli::{ConfigScope, RemoteCommand};
use crate::config::{self, Config, ConfigEditor, ConfigError, Scope};
use crate::repo::Repo;
use crate::ui;

fn scope(s: ConfigScope) -> Scope {
    if s.local {
        Scope::Local
    } else if s.global {
        Scope::Global
    } else {
        Scope::Repo
    }
}

fn editor(s: Scope, repo: Option<&Repo>) -> Result<ConfigEditor> {
    Ok(ConfigEditor::open(&config::scope_path(s, repo)?)?)
}

/// Runs a `git dvc remote` subcommand.
pub fn run(cmd: &RemoteCommand) -> Result<()> {
    let repo = Repo::discover().ok();
    match cmd {
        RemoteCommand::Add(a) => {
            config::validate_remote_name(&a.name)?;
            config::validate_url(&a.url)?;
            let mut ed = editor(scope(a.scope), repo.as_ref())?;
            if ed.has_remote(&a.name) && !a.force {
                return Err(ConfigError::RemoteExists {
                    name: a.name.clone(),
                    path: ed.path().to_path_buf(),
                }
                .into());
            }
            ed.remove_remote(&a.name);
            ed.set_remote(&a.name, "url", a.url.as_str().into())?;
            if let Some(e) = &a.endpoint {
                ed.set_remote(&a.name, "endpoint", e.as_str().into())?;
            }
            if let Some(r) = &a.region {
                ed.set_remote(&a.name, "region", r.as_str().into())?;
            }
            if a.default {
                ed.set_default_remote(&a.name)?;
            }
            ed.save()?;
        }
        RemoteCommand::List => {
            let cfg = Config::load(repo.as_ref())?;
            cfg.print_warnings();
            for (name, r) in &cfg.remotes {
                let default = if cfg.default_remote.as_deref() == Some(name) {
                    " (default)"
                } else {
                    ""
                };
                println!(
                    "{name}\t{}{default}",
                    r.url.as_deref().unwrap_or("<no url>")
                );
            }
        }
        RemoteCommand::Remove(a) => {
            // Without a scope flag, the remote goes from every file that
            // defines it, so it is really gone.
            let scopes = if a.scope.local || a.scope.global {
                vec![scope(a.scope)]
            } else {
                vec![Scope::Repo, Scope::Local, Scope::Global]
            };
            let mut removed = false;
            for s in scopes {
                let Ok(mut ed) = editor(s, repo.as_ref()) else {
                    continue;
                };
                if ed.remove_remote(&a.name) {
                    ed.save()?;
                    removed = true;
                    ui::verbose(&format!(
                        "removed remote '{}' ({})",
                        a.name,
                        ed.path().display()
                    ));
                }
            }
            if !removed {
                return Err(ConfigError::NoSuchRemote(a.name.clone()).into());
            }
        }
        RemoteCommand::Set(a) => {
            config::validate_remote_name(&a.name)?;
            let value: toml_edit::Value = match a.key.as_str() {
                "url" => {
                    config::validate_url(&a.value)?;
                    a.value.as_str().into()
                }
                "endpoint" | "region" | "profile" => a.value.as_str().into(),
                "read_only" => match a.value.as_str() {
                    "true" => true.into(),
                    "false" => false.into(),
                    v => bail!("read_only takes true or false ({v})"),
                },
                other => return Err(ConfigError::UnknownKey(other.to_string()).into()),
            };
            let mut ed = editor(scope(a.scope), repo.as_ref())?;
            ed.set_remote(&a.name, &a.key, value)?;
            ed.save()?;
        }
        RemoteCommand::Default(a) => {
            config::validate_remote_name(&a.name)?;
            let cfg = Config::load(repo.as_ref())?;
            if !cfg.remotes.contains_key(&a.name) {
                return Err(ConfigError::NoSuchRemote(a.name.clone()).into());
            }
            let mut ed = editor(scope(a.scope), repo.as_ref())?;
            ed.set_default_remote(&a.name)?;
            ed.save()?;
        }
    }
    Ok(())
}
