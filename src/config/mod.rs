//! Layered TOML configuration.
//!
//! Later layers win: the user's `$XDG_CONFIG_HOME/git-dvc/config.toml` <
//! the repository's committed `.gitdvc.toml` < this clone's
//! `<git-common-dir>/dvc/config.toml`. The committed file comes from whoever
//! wrote the repository, so only `[core] remote`, `[remote.*]` and
//! `[transfer]` are read from it; anything that could make git-dvc write
//! outside the repository (`[cache] dir`) is honoured only from the clone's
//! or the user's file, and ignored keys are reported once.

mod editor;
mod load;
mod schema;

pub use editor::ConfigEditor;
pub use load::{Config, Scope, scope_path, user_config_path};
pub use schema::{
    ConfigError, DEFAULT_DIRECT_SIZE, DEFAULT_JOBS, DEFAULT_PART_JOBS, DEFAULT_PART_SIZE, Parts,
    REPO_FILE, RemoteConfig, UrlKind, WARNED_ENV, parse_size, validate_remote_name, validate_url,
};

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::schema::parse_layer;
    use super::*;

    #[test]
    fn committed_file_cannot_move_the_cache() {
        let mut cfg = Config::default();
        let layer = parse_layer(
            "[cache]\ndir = \"/tmp/evil\"\n[core]\nremote = \"s\"\nbogus = 1\n",
            Path::new("/r/.gitdvc.toml"),
        )
        .unwrap();
        cfg.apply(layer, Path::new("/r/.gitdvc.toml"), false);
        assert_eq!(cfg.cache_dir, None);
        assert_eq!(cfg.default_remote.as_deref(), Some("s"));
        assert_eq!(cfg.warnings.len(), 2, "{:?}", cfg.warnings);
        let local = parse_layer(
            "[cache]\ndir = \"../shared\"\n",
            Path::new("/r/.git/dvc/config.toml"),
        )
        .unwrap();
        cfg.apply(local, Path::new("/r/.git/dvc/config.toml"), true);
        assert_eq!(cfg.cache_dir, Some(PathBuf::from("/r/.git/shared")));
    }

    #[test]
    fn later_layers_merge_per_key() {
        let mut cfg = Config::default();
        let a = parse_layer(
            "[remote.s]\nurl = \"s3://b/p\"\nregion = \"eu\"\n",
            Path::new("/a"),
        )
        .unwrap();
        let b = parse_layer(
            "[remote.s]\nendpoint = \"http://127.0.0.1:9000\"\nregion = \"us\"\n",
            Path::new("/b"),
        )
        .unwrap();
        cfg.apply(a, Path::new("/a"), false);
        cfg.apply(b, Path::new("/b"), true);
        let r = &cfg.remotes["s"];
        assert_eq!(r.url.as_deref(), Some("s3://b/p"));
        assert_eq!(r.region.as_deref(), Some("us"));
        assert_eq!(r.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    }

    #[test]
    fn part_settings_reach_the_remote() {
        let mut cfg = Config::default();
        assert_eq!(cfg.parts, Parts::default());
        let layer = parse_layer(
            "[transfer]\npart_size = \"8MiB\"\npart_jobs = 2\n[remote.s]\nurl = \"s3://b\"\n",
            Path::new("/r/.gitdvc.toml"),
        )
        .unwrap();
        cfg.apply(layer, Path::new("/r/.gitdvc.toml"), false);
        assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
        let (_, rc) = cfg.remote(Some("s")).unwrap();
        assert_eq!(
            rc.parts,
            Parts {
                size: 8 << 20,
                jobs: 2
            }
        );
        for bad in ["\"lots\"", "0", "true"] {
            let layer =
                parse_layer(&format!("[transfer]\npart_size = {bad}\n"), Path::new("/c")).unwrap();
            let mut cfg = Config::default();
            cfg.apply(layer, Path::new("/c"), true);
            assert_eq!(cfg.parts.size, DEFAULT_PART_SIZE);
            assert_eq!(cfg.warnings.len(), 1, "{bad}: {:?}", cfg.warnings);
        }
        assert!(parse_layer("[transfer]\npart_jobs = -1\n", Path::new("/c")).is_err());
    }

    #[test]
    fn wrong_types_name_the_file() {
        let err =
            parse_layer("[transfer]\njobs = \"many\"\n", Path::new("/x/config.toml")).unwrap_err();
        assert!(err.to_string().contains("/x/config.toml"), "{err}");
    }
}
