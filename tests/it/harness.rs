//! The test harness: every test gets its own HOME (so Git's global config
//! and git-dvc's user config are private), the freshly built `git-dvc` first
//! on PATH, and the real `git`.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// A private world: HOME, global git config, and a scratch directory.
pub(crate) struct Env {
    pub tmp: TempDir,
    path_var: String,
    extra: std::cell::RefCell<Vec<(String, String)>>,
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Env {
    /// A new world with git-dvc installed globally (as `./install` does).
    pub(crate) fn new() -> Env {
        let env = Env::bare();
        env.ok(env.root(), "git-dvc", ["install", "--global"]);
        env
    }

    /// A new world where git-dvc is on PATH but not installed.
    pub(crate) fn bare() -> Env {
        let tmp = tempfile::Builder::new()
            .prefix("git-dvc-test-")
            .tempdir()
            .unwrap();
        let bin = Path::new(env!("CARGO_BIN_EXE_git-dvc"))
            .parent()
            .unwrap()
            .to_path_buf();
        let path_var = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        fs::create_dir_all(tmp.path().join("home")).unwrap();
        let env = Env {
            tmp,
            path_var,
            extra: Default::default(),
        };
        for (k, v) in [
            ("user.name", "Test User"),
            ("user.email", "test@example.com"),
            ("init.defaultBranch", "main"),
            ("advice.detachedHead", "false"),
            ("protocol.file.allow", "always"),
        ] {
            env.ok(env.root(), "git", ["config", "--global", k, v]);
        }
        env
    }

    /// The scratch directory.
    pub(crate) fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// HOME.
    pub(crate) fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// A command with the private environment.
    pub(crate) fn cmd(&self, dir: &Path, program: &str) -> Command {
        let mut c = Command::new(program);
        c.current_dir(dir)
            .env_clear()
            .env("PATH", &self.path_var)
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LANG", "C")
            .env("TZ", "UTC")
            // Never wait for a cloud metadata service that is not there.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null());
        for (k, v) in self.extra.borrow().iter() {
            c.env(k, v);
        }
        c
    }

    /// The test S3 server's key pair (with `secret` as the secret: a wrong
    /// one tests refusal) and a region, for every later command.
    pub(crate) fn s3_credentials(&self, secret: &str) {
        self.set_env("AWS_ACCESS_KEY_ID", crate::servers::S3_KEY);
        self.set_env("AWS_SECRET_ACCESS_KEY", secret);
        self.set_env("AWS_REGION", "us-east-1");
    }

    /// Writes the user's own git-dvc config (`~/.config/git-dvc/config.toml`).
    pub(crate) fn user_config(&self, toml: &str) {
        let dir = self.home().join(".config/git-dvc");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("config.toml"), toml).unwrap();
    }

    /// Sets an environment variable for every later command.
    pub(crate) fn set_env(&self, key: &str, value: &str) {
        self.extra
            .borrow_mut()
            .push((key.to_string(), value.to_string()));
    }

    /// Runs a command and returns what happened, whatever the exit code.
    pub(crate) fn run<I, S>(&self, dir: &Path, program: &str, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd(dir, program)
            .args(args)
            .output()
            .expect("spawn")
            .into()
    }

    /// Runs a command that must succeed.
    pub(crate) fn ok<I, S>(&self, dir: &Path, program: &str, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        let r = self.run(dir, program, &args);
        assert_eq!(
            r.code,
            0,
            "{program} {args:?} failed in {}:\n{}\n{}",
            dir.display(),
            r.stdout,
            r.stderr
        );
        r
    }

    /// A new repository (git init) at `name`, in a world where git-dvc is
    /// installed globally.
    pub(crate) fn repo(&self, name: &str) -> Repo<'_> {
        let path = self.root().join(name);
        fs::create_dir_all(&path).unwrap();
        self.ok(&path, "git", ["init", "-q"]);
        Repo { env: self, path }
    }

    /// A handle on an existing directory.
    pub(crate) fn at(&self, path: impl Into<PathBuf>) -> Repo<'_> {
        Repo {
            env: self,
            path: path.into(),
        }
    }
}

/// A repository (or any directory) in an [`Env`].
pub(crate) struct Repo<'a> {
    pub env: &'a Env,
    pub path: PathBuf,
}

impl Repo<'_> {
    /// `git <args>`, which must succeed; returns stdout.
    pub(crate) fn git<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.env.ok(&self.path, "git", args).stdout
    }

    /// `git <args>`, whatever happens.
    pub(crate) fn git_run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.env.run(&self.path, "git", args)
    }

    /// `git dvc <args>`, which must succeed.
    pub(crate) fn dvc<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.env.ok(&self.path, "git-dvc", args)
    }

    /// `git dvc <args>` started in the background, its output discarded:
    /// for a test that kills it mid-way.
    pub(crate) fn spawn_dvc<I, S>(&self, args: I) -> std::process::Child
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.env
            .cmd(&self.path, "git-dvc")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// `git dvc <args>`, whatever happens.
    pub(crate) fn dvc_run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.env.run(&self.path, "git-dvc", args)
    }

    /// Writes a file (creating directories).
    pub(crate) fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let p = self.path.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }

    /// Reads a file.
    pub(crate) fn read(&self, rel: &str) -> Vec<u8> {
        fs::read(self.path.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// `git status --porcelain` output (empty when clean).
    pub(crate) fn status(&self) -> String {
        self.git(["status", "--porcelain"])
    }

    /// Adds everything and commits.
    pub(crate) fn commit_all(&self, msg: &str) {
        self.git(["add", "-A"]);
        self.git(["commit", "-q", "-m", msg]);
    }

    /// The cache directory.
    pub(crate) fn cache(&self) -> PathBuf {
        self.path.join(".git/dvc/cache")
    }

    /// Path of an object in the default cache.
    pub(crate) fn object(&self, oid_hex: &str) -> PathBuf {
        self.cache().join(&oid_hex[..2]).join(&oid_hex[2..])
    }
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
pub(crate) fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The SHA-256 hex of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The canonical pointer text for `bytes`.
pub(crate) fn pointer_for(bytes: &[u8]) -> String {
    format!(
        "version = \"git-dvc/1\"\noid = \"sha256:{}\"\nsize = {}\n",
        sha256(bytes),
        bytes.len()
    )
}

/// Flips one byte in the middle of a file, keeping its size.
pub(crate) fn flip_byte(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(path, &bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o444)).unwrap();
}
