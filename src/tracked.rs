//! Listing tracked data: which blobs of a tree or of the index are pointers.

use git2::{ObjectType, Oid as GitOid, TreeWalkMode, TreeWalkResult};

use crate::error::{Error, GitContext};
use crate::pointer::Pointer;
use crate::repo::Repo;

/// One tracked file as Git stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedFile {
    /// Repo-relative path.
    pub path: String,
    /// Its pointer.
    pub pointer: Pointer,
}

/// The pointer in blob `id`, reading the blob only when its size allows.
pub fn blob_pointer(odb: &git2::Odb<'_>, id: GitOid) -> Option<Pointer> {
    let (size, kind) = odb.read_header(id).ok()?;
    if kind != ObjectType::Blob || !Pointer::could_be(size as u64) {
        return None;
    }
    let obj = odb.read(id).ok()?;
    Pointer::parse(obj.data()).ok()
}

/// Tracked files in the index (stage 0) that the worktree holds, in index
/// order: files outside a sparse-checkout cone are not the user's to see,
/// fetch or check out.
pub fn in_index(repo: &Repo) -> Result<Vec<TrackedFile>, Error> {
    index_pointers(repo, false)
}

/// Every tracked file in the index, those outside a sparse-checkout cone
/// included (what gc keeps).
pub fn in_index_all(repo: &Repo) -> Result<Vec<TrackedFile>, Error> {
    index_pointers(repo, true)
}

fn index_pointers(repo: &Repo, outside_cone: bool) -> Result<Vec<TrackedFile>, Error> {
    let odb = repo.git.odb().at(repo.git_dir.display())?;
    let mut out = Vec::new();
    for e in crate::index::read(repo)? {
        if e.stage != 0 || !e.is_file() || (e.skip_worktree && !outside_cone) {
            continue;
        }
        let Ok(path) = String::from_utf8(e.path) else {
            continue;
        };
        if let Some(pointer) = blob_pointer(&odb, e.id) {
            out.push(TrackedFile { path, pointer });
        }
    }
    Ok(out)
}

/// Files the index holds as pointers although no `.gitattributes` pattern
/// routes them through git-dvc (a `git mv` to an untracked name, an
/// untracked pattern): Git would commit the pointer text as a plain file.
/// `files` are candidates, e.g. from [`in_index`].
pub fn outside_patterns(repo: &Repo, files: &[TrackedFile]) -> Result<Vec<TrackedFile>, Error> {
    let paths: Vec<&[u8]> = files.iter().map(|f| f.path.as_bytes()).collect();
    let filtered = crate::attributes::dvc_filtered(repo, &paths)?;
    Ok(files
        .iter()
        .zip(filtered)
        .filter(|(_, f)| !f)
        .map(|(t, _)| t.clone())
        .collect())
}

/// Paths with a merge conflict (index stages 1–3) that git-dvc tracks.
pub fn conflicted(repo: &Repo) -> Result<Vec<String>, Error> {
    let mut paths: Vec<String> = crate::index::read(repo)?
        .into_iter()
        .filter(|e| e.stage != 0)
        .filter_map(|e| String::from_utf8(e.path).ok())
        .collect();
    paths.dedup();
    filtered_only(repo, paths)
}

/// New files in the worktree, not ignored and not in the index, that a
/// tracked pattern covers: data the user has yet to `git add`.
pub fn untracked_under_patterns(repo: &Repo) -> Result<Vec<String>, Error> {
    let out = repo.git_output(["ls-files", "--others", "--exclude-standard", "-z"])?;
    let paths = out
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .filter_map(|p| String::from_utf8(p.to_vec()).ok())
        .collect();
    filtered_only(repo, paths)
}

fn filtered_only(repo: &Repo, paths: Vec<String>) -> Result<Vec<String>, Error> {
    let bytes: Vec<&[u8]> = paths.iter().map(std::string::String::as_bytes).collect();
    let keep = crate::attributes::dvc_filtered(repo, &bytes)?;
    Ok(paths
        .into_iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect())
}

/// Pointers in files the index adds against HEAD (what `git commit` is
/// about to record as new paths).
pub fn staged_additions(repo: &Repo) -> Result<Vec<TrackedFile>, Error> {
    let head_exists = repo.git.head().is_ok();
    let mut args = vec![
        "diff",
        "--cached",
        "--raw",
        "--no-abbrev",
        "-z",
        "--no-renames",
        "--diff-filter=A",
    ];
    if !head_exists {
        // The first commit: everything staged is added.
        args.push("4b825dc642cb6eb9a060e54bf8d69288fbee4904");
    }
    let out = repo.git_output(&args)?;
    let odb = repo.git.odb().at(repo.git_dir.display())?;
    let mut files = Vec::new();
    let mut fields = out.split(|&b| b == 0);
    // `:<old mode> <new mode> <old sha> <new sha> A\0<path>\0`
    while let (Some(meta), Some(path)) = (fields.next(), fields.next()) {
        let meta = String::from_utf8_lossy(meta);
        let Some(sha) = meta.split(' ').nth(3) else {
            continue;
        };
        let (Ok(id), Ok(path)) = (GitOid::from_str(sha), std::str::from_utf8(path)) else {
            continue;
        };
        push_if_pointer(&mut files, &odb, id, path);
    }
    Ok(files)
}

/// Tracked files in the tree of `rev` (a commit, tag or tree).
pub fn in_rev(repo: &Repo, rev: &str) -> Result<Vec<TrackedFile>, Error> {
    let obj = repo
        .git
        .revparse_single(rev)
        .map_err(|_| Error::UnknownRevision(rev.to_string()))?;
    let tree = obj
        .peel_to_tree()
        .map_err(|_| Error::NotATree(rev.to_string()))?;
    in_tree(repo, &tree)
}

/// Tracked files in `tree`.
pub fn in_tree(repo: &Repo, tree: &git2::Tree<'_>) -> Result<Vec<TrackedFile>, Error> {
    let odb = repo.git.odb().at(repo.git_dir.display())?;
    let mut out = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob) && entry.filemode() & 0o170000 == 0o100000 {
            if let Some(pointer) = blob_pointer(&odb, entry.id()) {
                if let Some(name) = entry.name() {
                    out.push(TrackedFile {
                        path: format!("{dir}{name}"),
                        pointer,
                    });
                }
            }
        }
        TreeWalkResult::Ok
    })?;
    Ok(out)
}

/// Pointers in every blob reachable from `revs` but not from `not`
/// (`--not` arguments, e.g. `--remotes=origin`), with one path each.
/// Blobs larger than a pointer are never even listed.
pub fn in_history(repo: &Repo, revs: &[String], not: &[String]) -> Result<Vec<TrackedFile>, Error> {
    if revs.is_empty() {
        return Ok(Vec::new());
    }
    let mut args: Vec<String> = vec![
        "rev-list".into(),
        "--objects".into(),
        "--filter=blob:limit=201".into(),
    ];
    args.extend(revs.iter().cloned());
    if !not.is_empty() {
        args.push("--not".into());
        args.extend(not.iter().cloned());
    }
    let out = repo.git_output(&args)?;
    let odb = repo.git.odb().at(repo.git_dir.display())?;
    let mut seen = std::collections::HashSet::new();
    let mut files = Vec::new();
    for line in String::from_utf8_lossy(&out).lines() {
        let (sha, path) = line.split_once(' ').unwrap_or((line, ""));
        let Ok(id) = GitOid::from_str(sha) else {
            continue;
        };
        if path.is_empty() || !seen.insert(id) {
            continue;
        }
        push_if_pointer(&mut files, &odb, id, path);
    }
    Ok(files)
}

/// Adds `path` to `files` when blob `id` is a pointer.
fn push_if_pointer(files: &mut Vec<TrackedFile>, odb: &git2::Odb<'_>, id: GitOid, path: &str) {
    if let Some(pointer) = blob_pointer(odb, id) {
        files.push(TrackedFile {
            path: path.to_string(),
            pointer,
        });
    }
}
