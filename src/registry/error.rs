//! What can go wrong reading a source: every variant names the source,
//! commit, path or object concerned. A source is someone else's repository,
//! so most of these are refusals of hostile or broken input.

use crate::remote::RemoteError;

/// Failures of `get`, `import` and `update` on the source side.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The source cannot be cloned.
    #[error("cannot clone the source: {message} ({url})")]
    Clone {
        /// The source.
        url: String,
        /// Git's words.
        message: String,
    },
    /// The source cannot be fetched.
    #[error("cannot fetch the source {url}: {message}")]
    Fetch {
        /// The source.
        url: String,
        /// Git's words.
        message: String,
    },
    /// The revision asked for is not in the source.
    #[error("unknown revision in the source {url} ({rev})")]
    UnknownRevision {
        /// The source.
        url: String,
        /// The revision.
        rev: String,
    },
    /// The request names the source's root, or nothing.
    #[error("name a file or directory inside the source repository")]
    NoPath,
    /// A path from the source (or the request) that could lead outside
    /// the output.
    #[error("refusing unsafe path from the source ({0:?})")]
    UnsafePath(String),
    /// The commit cannot be read.
    #[error("cannot read commit {commit} of the source: {message}")]
    UnreadableCommit {
        /// The commit.
        commit: String,
        /// libgit2's words.
        message: String,
    },
    /// The path is not in the source at that commit.
    #[error("no such path in the source at {commit} ({path})")]
    NoSuchPath {
        /// The commit.
        commit: String,
        /// The path.
        path: String,
    },
    /// A file name in the source that is not UTF-8.
    #[error("refusing a file name that is not UTF-8 in the source ({0})")]
    NotUtf8(String),
    /// A submodule inside the request.
    #[error("refusing a submodule in the source ({0})")]
    Submodule(String),
    /// A symbolic link inside the request.
    #[error("refusing a symbolic link from the source ({0})")]
    Symlink(String),
    /// A source's remote that is a relative directory, from a remote
    /// source.
    #[error(
        "{whose} remote '{name}' is a relative directory ({url}), usable only from a local source"
    )]
    RelativeRemote {
        /// "the source's" or "the DVC source's".
        whose: &'static str,
        /// The remote.
        name: String,
        /// Its URL.
        url: String,
    },
    /// A DVC object the plan needs was not fetched.
    #[error("object md5 {md5} was not fetched ({path})")]
    NotFetched {
        /// The object.
        md5: String,
        /// Where it was to go.
        path: String,
    },
    /// A `dvc.lock` that does not parse.
    #[error("invalid dvc.lock in the source ({path}): {message}")]
    InvalidDvcLock {
        /// The file.
        path: String,
        /// The parser's words.
        message: String,
    },
    /// A `.dvc` file that does not parse.
    #[error("invalid .dvc file in the source (in {dir}): {message}")]
    InvalidDvcFile {
        /// Its directory.
        dir: String,
        /// The parser's words.
        message: String,
    },
    /// An md5 that is not 32 hex digits (or a `.dir` where a file belongs).
    #[error("refusing a bad md5 in the source ({path}: {md5:?})")]
    BadMd5 {
        /// The output or file.
        path: String,
        /// The md5 as found.
        md5: String,
    },
    /// A `.dir` manifest that does not parse.
    #[error("invalid .dir manifest {md5} in the source: {message}")]
    InvalidManifest {
        /// The manifest's md5.
        md5: String,
        /// The parser's words.
        message: String,
    },
    /// An import record that does not parse.
    #[error("invalid import record ({path}): {message}")]
    InvalidRecord {
        /// The record.
        path: String,
        /// The parser's words.
        message: String,
    },
    /// An import record with a field that fails its check.
    #[error("{what} in the import record ({path})")]
    BadRecord {
        /// What is wrong.
        what: String,
        /// The record.
        path: String,
    },
    /// An import record that cannot be written as TOML.
    #[error("cannot write the import record: {0}")]
    EncodeRecord(String),
    /// The source names data objects but no remote to fetch them from.
    #[error("the source names {count} data objects but has no remote to fetch them from ({url})")]
    NoRemote {
        /// How many objects are missing.
        count: usize,
        /// The source.
        url: String,
    },
    /// A DVC source without a default remote.
    #[error("the DVC source has no default remote in .dvc/config ({url})")]
    NoDvcRemote {
        /// The source.
        url: String,
    },
    /// The path is in no output and no Git file of the DVC source.
    #[error("no such path in the DVC source at {commit} ({path})")]
    NoSuchDvcPath {
        /// The commit, abbreviated.
        commit: String,
        /// The path.
        path: String,
    },
    /// An empty DVC object (not supported yet).
    #[error("empty DVC objects are not supported yet (md5 {md5})")]
    EmptyDvcObject {
        /// The object.
        md5: String,
    },
    /// Fetching from the source's remote failed.
    #[error(transparent)]
    Remote(#[from] RemoteError),
}
