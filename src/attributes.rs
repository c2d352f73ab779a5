//! `.gitattributes` lines that opt files in: `<pattern> filter=dvc diff=dvc
//! merge=dvc -text`.

use std::fs;
use std::io;
use std::path::Path;

/// The attributes git-dvc writes after each pattern.
pub const ATTRS: &str = "filter=dvc diff=dvc merge=dvc -text";

/// Escapes a pattern for a .gitattributes line: whitespace would end the
/// pattern, and a leading `#` would start a comment.
pub fn escape(pattern: &str) -> String {
    let mut out = String::new();
    for (i, c) in pattern.chars().enumerate() {
        match c {
            ' ' | '\t' => out.push_str("[[:space:]]"),
            '#' if i == 0 => out.push_str("\\#"),
            c => out.push(c),
        }
    }
    out
}

/// The reverse of [`escape`], for listing patterns as the user wrote them.
pub fn unescape(pattern: &str) -> String {
    let p = pattern.replace("[[:space:]]", " ");
    p.strip_prefix("\\#").map(|r| format!("#{r}")).unwrap_or(p)
}

/// The attributes that make one path below a tracked directory a plain
/// Git file again: no filter, Git's own diff and merge. `-text` stays
/// from the directory's line, so its bytes are committed exactly as they
/// are.
pub const PLAIN: &str = "!filter !diff !merge";

/// A pattern matching exactly `path` and nothing else: glob characters
/// are escaped, and a path with whitespace, quotes or control characters
/// is quoted C-style (as Git reads quoted patterns).
pub fn literal(path: &str) -> String {
    let mut glob = String::new();
    for (i, c) in path.chars().enumerate() {
        if matches!(c, '*' | '?' | '[' | '\\') || (i == 0 && matches!(c, '!' | '#')) {
            glob.push('\\');
        }
        glob.push(c);
    }
    if !glob
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"')
    {
        return glob;
    }
    let mut quoted = String::from("\"");
    for c in glob.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    quoted.push_str(&format!("\\{b:03o}"));
                }
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Adds a [`PLAIN`] line for each of `patterns` (from [`literal`]) that
/// has none yet, at the end (after the directory's line).
pub fn add_plain(text: &str, patterns: &[String]) -> String {
    let mut have: std::collections::HashSet<String> =
        text.lines().map(|l| l.trim().to_string()).collect();
    let mut out = text.to_string();
    for p in patterns {
        let line = format!("{p} {PLAIN}");
        if !have.insert(line.clone()) {
            continue;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Removes the [`PLAIN`] lines of `patterns`.
pub fn remove_plain(text: &str, patterns: &[String]) -> String {
    let lines: std::collections::HashSet<String> =
        patterns.iter().map(|p| format!("{p} {PLAIN}")).collect();
    text.split_inclusive('\n')
        .filter(|l| !lines.contains(l.trim()))
        .collect()
}

/// A line's pattern, if the line sets `filter=dvc`.
pub fn tracked_pattern(line: &str) -> Option<&str> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut parts = line.split_whitespace();
    let pattern = parts.next()?;
    parts.any(|a| a == "filter=dvc").then_some(pattern)
}

/// Reads a .gitattributes file (empty if absent).
pub fn read(path: &Path) -> io::Result<String> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e),
    }
}

/// Adds lines for `patterns` (already escaped) not tracked yet; returns the
/// new text and which patterns were added.
pub fn add(text: &str, patterns: &[String]) -> (String, Vec<String>) {
    let existing: Vec<&str> = text.lines().filter_map(tracked_pattern).collect();
    let mut out = text.to_string();
    let mut added = Vec::new();
    for p in patterns {
        if existing.contains(&p.as_str()) || added.contains(p) {
            continue;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{p} {ATTRS}\n"));
        added.push(p.clone());
    }
    (out, added)
}

/// Removes the git-dvc lines for `patterns`; returns the new text and which
/// were removed.
pub fn remove(text: &str, patterns: &[String]) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut removed = Vec::new();
    for line in text.split_inclusive('\n') {
        match tracked_pattern(line) {
            Some(p) if patterns.iter().any(|x| x == p) => removed.push(p.to_string()),
            _ => out.push_str(line),
        }
    }
    (out, removed)
}

/// Which of `paths` Git hands to git-dvc's filter (`filter=dvc`), asked of
/// Git itself in one call, so every form of index and attribute source Git
/// knows is honoured.
pub fn dvc_filtered(
    repo: &crate::repo::Repo,
    paths: &[&[u8]],
) -> Result<Vec<bool>, crate::error::Error> {
    dvc_filtered_with(repo, paths, &[], &[])
}

/// [`dvc_filtered`], asking `git <before> check-attr -z --stdin <after>
/// filter`: `-c core.attributesFile=…` before, `--source=<tree>` after
/// (what a migration asks about a tree it has not checked out).
pub fn dvc_filtered_with(
    repo: &crate::repo::Repo,
    paths: &[&[u8]],
    before: &[String],
    after: &[String],
) -> Result<Vec<bool>, crate::error::Error> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut input = Vec::new();
    for p in paths {
        input.extend_from_slice(p);
        input.push(0);
    }
    let mut args: Vec<String> = before.to_vec();
    args.extend(["check-attr".into(), "-z".into(), "--stdin".into()]);
    args.extend(after.iter().cloned());
    args.push("filter".into());
    let out = repo.git_with_input(&args, &input)?;
    // `<path>\0filter\0<value>\0` per path, in input order.
    let fields: Vec<&[u8]> = out.split(|&b| b == 0).collect();
    let mut by_path = std::collections::HashMap::new();
    for rec in fields.chunks(3) {
        if let [path, _attr, value] = rec {
            by_path.insert(*path, *value == b"dvc");
        }
    }
    Ok(paths
        .iter()
        .map(|p| by_path.get(p).copied().unwrap_or(false))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_is_idempotent_and_remove_is_exact() {
        let (t, a) = add(
            "*.txt text\n",
            &["data/**".into(), "*.bin".into(), "data/**".into()],
        );
        assert_eq!(
            t,
            "*.txt text\ndata/** filter=dvc diff=dvc merge=dvc -text\n*.bin filter=dvc diff=dvc merge=dvc -text\n"
        );
        assert_eq!(a, vec!["data/**", "*.bin"]);
        let (t2, a2) = add(&t, &["*.bin".into()]);
        assert_eq!((t2.as_str(), a2.len()), (t.as_str(), 0));
        let (t3, r) = remove(&t, &["*.bin".into()]);
        assert_eq!(
            t3,
            "*.txt text\ndata/** filter=dvc diff=dvc merge=dvc -text\n"
        );
        assert_eq!(r, vec!["*.bin"]);
    }

    #[test]
    fn literal_patterns_match_one_path() {
        assert_eq!(literal("out/README.md"), "out/README.md");
        assert_eq!(literal("out/c*d?[x]\\y"), "out/c\\*d\\?\\[x]\\\\y");
        assert_eq!(literal("!x"), "\\!x");
        assert_eq!(literal("#x"), "\\#x");
        assert_eq!(literal("out/a b/q\"*"), "\"out/a b/q\\\"\\\\*\"");
        assert_eq!(literal("out/n\nl\u{1}"), "\"out/n\\nl\\001\"");
    }

    #[test]
    fn plain_lines_are_added_once_and_removed_exactly() {
        let t = "out/** filter=dvc diff=dvc merge=dvc -text\n";
        let t2 = add_plain(t, &["out/a".into(), "out/b".into()]);
        assert_eq!(
            t2,
            format!("{t}out/a !filter !diff !merge\nout/b !filter !diff !merge\n")
        );
        assert_eq!(add_plain(&t2, &["out/a".into()]), t2);
        assert_eq!(
            remove_plain(&t2, &["out/a".into(), "out/c".into()]),
            format!("{t}out/b !filter !diff !merge\n")
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("my data/*.bin"), "my[[:space:]]data/*.bin");
        assert_eq!(escape("#x"), "\\#x");
        assert_eq!(unescape(&escape("#my data")), "#my data");
    }
}
