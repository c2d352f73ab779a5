//! Command-line definitions. Kept apart from the commands' code so that man
//! pages and shell completions are generated from exactly what users get.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Version large data and models inside Git.
///
/// Files opted in by .gitattributes (`git dvc track`) are stored in Git as
/// small pointers; their content lives in a local content-addressed cache
/// and on remotes. Plain `git add`, `git checkout` and `git clone` do the
/// rest.
#[derive(Debug, Parser)]
#[command(
    name = "git-dvc",
    bin_name = "git-dvc",
    version,
    propagate_version = true
)]
#[command(disable_help_subcommand = true, max_term_width = 100)]
pub struct Cli {
    /// Print errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more about what is done.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where `install`/`uninstall` write Git's configuration.
#[derive(Debug, Args, Clone, Copy)]
#[group(multiple = false)]
pub struct GitScope {
    /// This repository's .git/config.
    #[arg(long)]
    pub local: bool,
    /// Your ~/.gitconfig (the default).
    #[arg(long)]
    pub global: bool,
    /// The system-wide gitconfig.
    #[arg(long)]
    pub system: bool,
}

/// Which git-dvc config file a remote setting goes to.
#[derive(Debug, Args, Clone, Copy)]
#[group(multiple = false)]
pub struct ConfigScope {
    /// This clone only (<git-dir>/dvc/config.toml), not committed.
    #[arg(long)]
    pub local: bool,
    /// Your own config ($XDG_CONFIG_HOME/git-dvc/config.toml).
    #[arg(long)]
    pub global: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Configure Git to use git-dvc, and write its hooks in this repository.
    ///
    /// Sets filter.dvc.process, filter.dvc.clean, filter.dvc.smudge,
    /// filter.dvc.required, diff.dvc.textconv and the merge.dvc driver
    /// (merge.dvc.name, merge.dvc.driver: a merge takes the changed side of a
    /// tracked file when the other is unchanged, and otherwise stops with a
    /// conflict, keeping ours' real content in the worktree). Inside a
    /// repository it also writes the post-checkout, post-merge, pre-commit
    /// and pre-push hooks; a hook that
    /// git-dvc did not write is left alone (use --force to replace it, or add
    /// the `git dvc hook <name> "$@"` line to it). Running it again changes
    /// nothing.
    Install(InstallArgs),
    /// Remove exactly what `install` added: the Git settings and git-dvc's own hooks.
    Uninstall(UninstallArgs),
    /// Track files matching patterns with git-dvc (edits .gitattributes).
    ///
    /// With no pattern, lists the tracked patterns.
    Track(TrackArgs),
    /// Stop tracking patterns (edits .gitattributes).
    Untrack(UntrackArgs),
    /// Manage remotes (in .gitdvc.toml, or the clone's or your own config).
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Upload the objects that HEAD (or the refs, or all refs) use and the remote lacks.
    ///
    /// The first argument is taken as a remote when one of that name is
    /// configured; otherwise the default remote is used. Without refs, the
    /// objects of HEAD's tree are pushed; with refs, those of their trees;
    /// with --all, every object reachable from every ref.
    Push(PushArgs),
    /// Download objects that HEAD (or the refs, or all refs) use into the cache.
    Fetch(FetchArgs),
    /// Fetch the objects HEAD and the index name, then check them out.
    Pull(PullArgs),
    /// Replace pointer texts in the worktree with content from the cache.
    ///
    /// Files whose objects are not in the cache stay pointers; files outside
    /// a sparse-checkout cone are left alone. Every object is checked
    /// against its oid as it is copied: a damaged one is quarantined and its
    /// file keeps its pointer. Files at or above [checkout] direct_size are
    /// reflinked or kernel-copied and their stat data written to the index;
    /// the others are refreshed through Git, so `git status` stays clean.
    Checkout(CheckoutArgs),
    /// Show tracked files that are modified, unmerged, new and not staged, missing from the cache, or not materialized.
    ///
    /// Also lists pointers committed at paths no tracked pattern covers.
    /// Files outside a sparse-checkout cone are not reported.
    Status(StatusArgs),
    /// List tracked files: oid, `*` for content or `-` for a pointer in the worktree, path and size.
    LsFiles(LsFilesArgs),
    /// Show tracked data added, modified or deleted between revisions.
    ///
    /// No revision: HEAD against the worktree. One revision: it against the
    /// worktree. Two: the first against the second.
    Diff(DiffArgs),
    /// Delete cache objects that nothing kept refers to (or, with --remote, remote objects).
    ///
    /// Always kept: HEAD, the index, the worktree, stashes and other
    /// worktrees' HEADs; --all-branches, --all-tags and --all-commits keep
    /// more. Without --force, an object that no remote is known to hold is
    /// never deleted.
    Gc(GcArgs),
    /// Re-hash the cache (or check a remote) and quarantine corrupt objects.
    Fsck(FsckArgs),
    /// Download a file or directory from a repository (a data registry), anywhere.
    ///
    /// <repo> is a local path, a file:// URL or any URL `git clone`
    /// understands. Tracked data is fetched from the source's remote,
    /// plain Git files are copied as they are.
    Get(GetArgs),
    /// Like get, inside a repository: also tracks the output and records its source in <out>.import.toml.
    Import(ImportArgs),
    /// Bring imports to their source's latest (or to --rev): new, changed and deleted files.
    ///
    /// An import pinned with --rev to a tag or commit stays unless a new
    /// --rev is given; one following a branch moves to the branch's tip.
    Update(UpdateArgs),
    /// Adopt a DVC project, a git-lfs repository, or big plain-Git files.
    ///
    /// The data goes into the cache under its sha256 (verified against the
    /// old tool's md5 or sha256), pointers and .gitattributes lines take
    /// the old tool's files' place, and the result is staged. With
    /// --rewrite-history, every commit of the chosen refs (default: the
    /// current branch; tags pointing into it follow) is rewritten the same
    /// way, keeping authors, dates and messages, so plain `git checkout <old
    /// tag>` restores that version's data; each moved ref keeps a backup
    /// under refs/dvc-migrate/backup/<refname>. Refs move in one
    /// transaction, and running the migration again changes nothing.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Print the pointer for a file (its content is hashed, not stored).
    Pointer(PointerArgs),
    /// Serve Git's long-running filter protocol (filter.dvc.process).
    #[command(hide = true)]
    FilterProcess(FilterProcessArgs),
    /// Clean filter: content on stdin, pointer on stdout (filter.dvc.clean).
    #[command(hide = true)]
    Clean(OneShotArgs),
    /// Smudge filter: pointer on stdin, content on stdout (filter.dvc.smudge).
    #[command(hide = true)]
    Smudge(OneShotArgs),
    /// Run a Git hook's work (what the hook scripts call).
    #[command(hide = true)]
    Hook(HookArgs),
    /// Three-way merge of pointers (merge.dvc.driver).
    #[command(hide = true)]
    MergeDriver(MergeDriverArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
}

/// What to migrate from.
#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// A DVC project: .dvc files and dvc.lock outputs (DVC 2 and 3, .dir manifests).
    ///
    /// Objects come from the worktree (checked against DVC's md5), the DVC
    /// cache or the DVC remote of .dvc/config, and are md5-verified. The
    /// .dvc files, .dvc/, .dvcignore and DVC's .gitignore lines are removed;
    /// dvc.yaml and dvc.lock stay as the pipeline's record. DVC's cache on
    /// disk is left alone.
    Dvc(MigrateArgs),
    /// A git-lfs repository: LFS pointers become git-dvc pointers (same sha256).
    ///
    /// Objects come from the clone's LFS store or a local remote's; filter=lfs
    /// lines in .gitattributes become filter=dvc, and .lfsconfig is removed.
    Lfs(MigrateArgs),
    /// Plain-Git files matching patterns become tracked data.
    Import(MigrateImportArgs),
}

/// Options every migration takes.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Push the migrated objects to this git-dvc remote afterwards.
    #[arg(long, value_name = "name")]
    pub remote: Option<String>,
    /// Rewrite the history of the given refs (default: the current branch).
    #[arg(long)]
    pub rewrite_history: bool,
    /// With --rewrite-history: every branch and tag.
    #[arg(long, requires = "rewrite_history", conflicts_with = "refs")]
    pub everything: bool,
    /// Show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --rewrite-history: the branches and tags to rewrite.
    #[arg(value_name = "ref", requires = "rewrite_history")]
    pub refs: Vec<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct MigrateImportArgs {
    /// Gitattributes patterns, as for `track` (e.g. '*.bin', 'data/**').
    #[arg(required = true, value_name = "pattern")]
    pub patterns: Vec<String>,
    /// Push the migrated objects to this git-dvc remote afterwards.
    #[arg(long, value_name = "name")]
    pub remote: Option<String>,
    /// Rewrite the history of the current branch (or --everything, or --ref).
    #[arg(long)]
    pub rewrite_history: bool,
    /// With --rewrite-history: every branch and tag.
    #[arg(long, requires = "rewrite_history", conflicts_with = "refs")]
    pub everything: bool,
    /// With --rewrite-history: a branch or tag to rewrite (repeatable).
    #[arg(long = "ref", value_name = "ref", requires = "rewrite_history")]
    pub refs: Vec<String>,
    /// Show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub scope: GitScope,
    /// Overwrite settings and hooks that differ from git-dvc's.
    #[arg(short, long)]
    pub force: bool,
    /// Leave pointers in the worktree on checkout (fetch content later with `git dvc pull`).
    #[arg(long)]
    pub skip_smudge: bool,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub scope: GitScope,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct TrackArgs {
    /// Gitattributes patterns, e.g. 'data/**' or '*.bin'.
    pub patterns: Vec<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct UntrackArgs {
    /// Patterns as given to `track`.
    #[arg(required = true)]
    pub patterns: Vec<String>,
}

/// Remote subcommands.
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Add a remote: a directory, an http(s) URL, or s3://bucket/prefix.
    Add(RemoteAddArgs),
    /// List remotes (the default one is marked).
    List,
    /// Remove a remote.
    Remove(RemoteRemoveArgs),
    /// Set one option of a remote: url, endpoint, region, profile or read_only.
    Set(RemoteSetArgs),
    /// Make a remote the default.
    Default(RemoteDefaultArgs),
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct RemoteAddArgs {
    /// Remote name.
    pub name: String,
    /// /abs/path, file:///abs/path, http(s)://host/prefix, or s3://bucket/prefix.
    pub url: String,
    /// Make it the default remote.
    #[arg(short = 'd', long = "default")]
    pub default: bool,
    #[command(flatten)]
    pub scope: ConfigScope,
    /// S3-compatible endpoint URL (MinIO, Ceph, R2…).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// S3 region.
    #[arg(long)]
    pub region: Option<String>,
    /// Replace a remote of the same name.
    #[arg(short, long)]
    pub force: bool,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct RemoteRemoveArgs {
    /// Remote name.
    pub name: String,
    #[command(flatten)]
    pub scope: ConfigScope,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct RemoteSetArgs {
    /// Remote name.
    pub name: String,
    /// url, endpoint, region, profile or read_only.
    pub key: String,
    /// The value (true/false for read_only).
    pub value: String,
    #[command(flatten)]
    pub scope: ConfigScope,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct RemoteDefaultArgs {
    /// Remote name.
    pub name: String,
    #[command(flatten)]
    pub scope: ConfigScope,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct PushArgs {
    /// [<remote>] [<ref>…]
    #[arg(value_name = "REMOTE_OR_REF")]
    pub args: Vec<String>,
    /// Every object reachable from every ref.
    #[arg(long)]
    pub all: bool,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// [<remote>] [<ref>…]
    #[arg(value_name = "REMOTE_OR_REF")]
    pub args: Vec<String>,
    /// Every object reachable from every ref.
    #[arg(long)]
    pub all: bool,
    /// Only these paths.
    #[arg(last = true)]
    pub paths: Vec<PathBuf>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The remote (default: the configured default).
    pub remote: Option<String>,
    /// Only these paths.
    #[arg(last = true)]
    pub paths: Vec<PathBuf>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct CheckoutArgs {
    /// Limit to these paths (files or directories).
    pub paths: Vec<PathBuf>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Also show what this remote (or the default, with no name) lacks.
    #[arg(long, value_name = "REMOTE", num_args = 0..=1, default_missing_value = "")]
    pub remote: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct LsFilesArgs {
    /// List the files of this revision instead of the index.
    pub rev: Option<String>,
    /// Full oids and exact sizes.
    #[arg(short, long)]
    pub long: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Old revision (default: HEAD).
    pub old: Option<String>,
    /// New revision (default: the worktree).
    pub new: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// What `get` and `import` both name: a source, a path in it, and where
/// the copy goes.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The source repository.
    pub repo: String,
    /// The file or directory inside it.
    pub path: String,
    /// Where to write it (default: the last component of <path>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Branch, tag or commit of the source (default: its default branch).
    #[arg(long)]
    pub rev: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Branch, tag or commit of the source; a tag or commit pins the import.
    #[arg(long)]
    pub rev: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Imported outputs.
    #[arg(required = true)]
    pub outs: Vec<PathBuf>,
    /// Move the import to this branch, tag or commit.
    #[arg(long)]
    pub rev: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Keep what HEAD, the index and the worktree use (always on).
    #[arg(short = 'w', long)]
    pub workspace: bool,
    /// Also keep what every branch tip uses.
    #[arg(short = 'a', long)]
    pub all_branches: bool,
    /// Also keep what every tag uses.
    #[arg(short = 'T', long)]
    pub all_tags: bool,
    /// Also keep what any commit of any ref uses.
    #[arg(short = 'A', long)]
    pub all_commits: bool,
    /// Collect garbage on this remote instead of the cache (on S3, also
    /// abort the multipart uploads of killed pushes begun a day or more
    /// ago).
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
    /// Say what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete even objects no remote is known to hold.
    #[arg(short, long)]
    pub force: bool,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct FsckArgs {
    /// Check this remote's objects instead of the cache.
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct PointerArgs {
    /// A file holding content or a pointer.
    pub file: PathBuf,
    /// One summary line, as `git diff` shows it (diff.dvc.textconv).
    #[arg(long, hide = true)]
    pub textconv: bool,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct FilterProcessArgs {
    /// Leave pointers as they are on smudge.
    #[arg(long)]
    pub skip: bool,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct OneShotArgs {
    /// Leave pointers as they are (smudge only).
    #[arg(long)]
    pub skip: bool,
    /// The path Git is filtering (%f).
    pub path: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct MergeDriverArgs {
    /// The common ancestor's blob (%O).
    pub base: PathBuf,
    /// Our blob (%A); the result is written here.
    pub ours: PathBuf,
    /// Their blob (%B).
    pub theirs: PathBuf,
    /// The path being merged (%P), for messages.
    pub path: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct HookArgs {
    /// post-checkout, post-merge, pre-commit or pre-push.
    pub name: String,
    /// The arguments Git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}
