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
    if name == "git-dvc" {
        buf = with_top_sections(buf);
    }
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

/// The top page's sections that no `--help` has: configuration, the
/// environment and the files git-dvc uses. Inserted before VERSION, in
/// man-pages(7) order.
fn with_top_sections(page: Vec<u8>) -> Vec<u8> {
    const MARK: &[u8] = b".SH VERSION\n";
    let at = page
        .windows(MARK.len())
        .position(|w| w == MARK)
        .unwrap_or(page.len());
    let mut out = page[..at].to_vec();
    out.extend_from_slice(TOP_SECTIONS.as_bytes());
    out.extend_from_slice(&page[at..]);
    out
}

/// Roff text of the CONFIGURATION, ENVIRONMENT and FILES sections.
const TOP_SECTIONS: &str = r##".SH CONFIGURATION
TOML, in three layers; a later one wins, key by key:
.TP
\fI$XDG_CONFIG_HOME/git\-dvc/config.toml\fR (default \fI~/.config/git\-dvc/config.toml\fR)
Yours, for every repository (\fBremote add \-\-global\fR writes it).
.TP
\fI.gitdvc.toml\fR at the worktree root
Committed, shared with every clone. \fBgit dvc remote add\fR, \fBremote set\fR and \fBremote default\fR write this file unless given \fB\-\-local\fR or \fB\-\-global\fR.
.TP
\fI<git\-common\-dir>/dvc/config.toml\fR
This clone only, never committed (\fB\-\-local\fR).
.PP
The committed \fI.gitdvc.toml\fR comes from whoever wrote the repository, so it is read only for [core] remote, [remote.*] and [transfer]. [cache] dir, and anything else that could make git\-dvc write outside the repository, is honoured only from the clone's or your own file; set in \fI.gitdvc.toml\fR it is ignored with a warning. Unknown keys are ignored with a warning; a key holding the wrong kind of value is an error that names the file and the key.
.PP
Keys:
.TP
\fB[core] remote\fR = "\fIname\fR"
The default remote of push, fetch, pull and checkouts.
.TP
\fB[remote.\fIname\fB] url\fR = "\fIurl\fR"
Where the remote is: \fIs3://bucket/prefix\fR, \fIhttp(s)://host/prefix\fR, a directory \fI/abs/path\fR or \fIfile:///abs/path\fR, or a directory path relative to the worktree root (recorded as given, resolved in each clone against its own root).
.TP
\fB[remote.\fIname\fB] endpoint\fR = "\fIhttp://127.0.0.1:9000\fR"
An S3\-compatible endpoint (MinIO, Ceph, R2...), with path\-style addressing.
.TP
\fB[remote.\fIname\fB] region\fR = "\fIus\-east\-1\fR"
The S3 region.
.TP
\fB[remote.\fIname\fB] profile\fR = "\fIdefault\fR"
The AWS shared\-credentials profile. Secrets never go in the config: S3 uses the standard AWS credential chain, HTTP uses \fBgit credential\fR or \fI~/.netrc\fR.
.TP
\fB[remote.\fIname\fB] read_only\fR = true | false
Refuse uploads and deletions before sending anything (default false).
.TP
\fB[cache] dir\fR = "\fI/path\fR"
Another cache directory, for example one shared by several clones; relative to the file that sets it. Not honoured from \fI.gitdvc.toml\fR.
.TP
\fB[transfer] jobs\fR = \fIn\fR
How much runs at once, in slots (default 32): a request to S3 takes one, so thousands of small objects keep 32 requests going; an object moving in parts takes one per part in flight (see part_jobs); a request to an HTTP server takes four (a static web server may accept few connections at once); a transfer to or from a directory one per MiB it holds in memory (a big object, streamed by the kernel, four). Memory stays bounded by the slots, whatever the mix of objects.
.TP
\fB[transfer] part_size\fR = "\fI16MiB\fR"
Objects larger than this (default 16MiB; a byte count, or a number with kB, MB, GB, KiB, MiB, GiB or TiB) move in parts of this size: an S3 multipart upload, and ranged GETs from S3 and from HTTP servers that answer them (206; a server that answers 200 sends the object in one GET). The parts are written at their offsets into one temp file in the cache, and the object is hashed and renamed into place only when every byte matches its id. Each part is retried on its own; a multipart upload that fails is aborted. S3 needs parts of at least 5MiB (a smaller size is raised to it for uploads) and at most 10,000 parts (the size grows for larger objects). Memory stays at the parts in flight times a small buffer, whatever the object's size.
.TP
\fB[transfer] part_jobs\fR = \fIn\fR
Parts of one object in flight at once (default 8), counted against [transfer] jobs.
.TP
\fB[checkout] direct_size\fR = "\fI64MiB\fR"
Files at or above this size (default 32MiB; a byte count, or a number with kB, MB, GB, KiB, MiB, GiB or TiB) do not pass through Git's smudge pipe, which Git holds whole in memory: on a checkout into the worktree git\-dvc answers with the pointer text and, when the Git command is done, writes the file itself from the cache (a reflink where the filesystem shares extents, else a kernel copy; the object is hashed while it is copied and the file is renamed into place only if it matches) and keeps the index's stat data true, so \fBgit status\fR stays clean without re\-reading them. A file git\-dvc could not write holds its pointer text, one warning names it, and \fBgit dvc checkout\fR completes it. Not honoured from \fI.gitdvc.toml\fR.
.SH ENVIRONMENT
.TP
\fBGIT_DVC_SKIP_SMUDGE\fR
Set (to anything but empty, 0 or false): checkouts leave pointer texts and fetch nothing, like \fBinstall \-\-skip\-smudge\fR.
.TP
\fBGIT_DVC_SKIP_PUSH\fR
Set: the pre\-push hook uploads nothing.
.TP
\fBGIT_DVC_REMOTE\fR
The default remote, over [core] remote.
.TP
\fBGIT_DVC_JOBS\fR
Slots in flight at once, over [transfer] jobs.
.TP
\fBGIT_DVC_DIRECT_SIZE\fR
Over [checkout] direct_size.
.TP
\fBGIT_DVC_ALLOW_CONFLICT_TEXT\fR
Set: the clean filter stores a text merge of two pointers (conflict markers) as data instead of refusing it.
.TP
\fBGIT_DVC_CONFIG_WARNED\fR
Set by git\-dvc for the Git commands it runs, so that the filters and hooks they start do not repeat its configuration warnings.
.TP
\fBXDG_CONFIG_HOME\fR, \fBHOME\fR
Where your config is (above); \fBHOME\fR also for \fI~/.netrc\fR.
.TP
\fBXDG_CACHE_HOME\fR
Where \fBgit dvc get\fR, run outside a repository, keeps source clones (default \fI~/.cache/git\-dvc/sources\fR).
.TP
\fBAWS_ACCESS_KEY_ID\fR, \fBAWS_SECRET_ACCESS_KEY\fR, \fBAWS_PROFILE\fR, \fBAWS_REGION\fR, ...
The standard AWS credential chain, for S3 remotes.
.TP
\fBGIT_DIR\fR, \fBGIT_WORK_TREE\fR
Which repository, as for Git.
.SH FILES
.TP
\fI.gitattributes\fR
Tracked patterns: \fB<pattern> filter=dvc diff=dvc merge=dvc \-text\fR lines, written by \fBgit dvc track\fR.
.TP
\fI.gitdvc.toml\fR, \fI<git\-common\-dir>/dvc/config.toml\fR, \fI~/.config/git\-dvc/config.toml\fR
The configuration (above).
.TP
\fI<git\-common\-dir>/dvc/cache/<oid[0..2]>/<oid[2..]>\fR
The cache, shared by the worktrees of a clone; objects are read\-only and appear whole (written in \fIcache/tmp/\fR, then renamed). Remotes use the same layout.
.TP
\fI<git\-common\-dir>/dvc/cache/quarantine/\fR
Corrupt objects moved aside by \fBgit dvc fsck\fR, or by any command that found an object's bytes did not match its oid as it read it out (checkout, push, import).
.TP
\fI<git\-common\-dir>/dvc/cache/tmp/\fR
Objects being written, and big files being checked out; a file there that no running git\-dvc holds locked was left by an interrupted command, and \fBgit dvc gc\fR removes it.
.TP
\fI<git\-common\-dir>/dvc/sources/\fR
Clones of the source repositories of \fBget\fR and \fBimport\fR.
.TP
\fI<out>.import.toml\fR
The record of an import, beside its output.
.TP
\fI<hooks>/post\-checkout\fR, \fI<hooks>/post\-merge\fR, \fI<hooks>/pre\-commit\fR, \fI<hooks>/pre\-push\fR
The hooks \fBgit dvc install\fR writes in \fI.git/hooks\fR (or \fBcore.hooksPath\fR), marked by the line "# git\-dvc hook: written by `git dvc install`"; a hook without that line is yours and is never replaced without \fB\-\-force\fR.
.TP
\fI~/.netrc\fR
HTTP credentials, tried before \fBgit credential\fR.
"##;

/// Shell completion script for `shell` (bash, zsh, fish, elvish, powershell).
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "git-dvc", &mut buf);
    buf
}
