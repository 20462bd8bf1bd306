//! What Helm's directory loader reports about a symbolic link it cannot follow: Go's
//! `filepath.EvalSymlinks` walks the link's target one component at a time and names the
//! component it could not `lstat`.

use std::path::Path;

/// Go's text for an OS error: the C library's message, starting lower-case, without Rust's
/// ` (os error N)` suffix.
pub(crate) fn errno_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => s,
    }
}

fn last_slash(s: &str, from: usize) -> Option<usize> {
    s[from..].rfind('/').map(|i| i + from)
}

/// Go's `filepath.EvalSymlinks` error for `path` (absolute), or `None` when it resolves.
pub(crate) fn eval_error(path: &str) -> Option<String> {
    let mut path = path.to_string();
    let mut vol_len = usize::from(path.starts_with('/'));
    let mut dest = path[..vol_len].to_string();
    let mut links = 0;
    let mut end = vol_len;
    while end < path.len() {
        let mut start = end;
        let b = path.as_bytes();
        while start < b.len() && b[start] == b'/' {
            start += 1;
        }
        end = start;
        while end < b.len() && b[end] != b'/' {
            end += 1;
        }
        let comp = &path[start..end];
        if comp.is_empty() {
            break;
        }
        if comp == "." {
            continue;
        }
        if comp == ".." {
            match last_slash(&dest, vol_len) {
                Some(r) if &dest[r + 1..] != ".." => dest.truncate(r),
                _ => {
                    if dest.len() > vol_len {
                        dest.push('/');
                    }
                    dest.push_str("..");
                }
            }
            continue;
        }
        if !dest.is_empty() && !dest.ends_with('/') {
            dest.push('/');
        }
        dest.push_str(comp);
        let meta = match std::fs::symlink_metadata(&dest) {
            Ok(m) => m,
            Err(e) => return Some(format!("lstat {dest}: {}", errno_text(&e))),
        };
        if !meta.file_type().is_symlink() {
            if !meta.is_dir() && end < path.len() {
                return Some("not a directory".into());
            }
            continue;
        }
        links += 1;
        if links > 255 {
            return Some("EvalSymlinks: too many links".into());
        }
        let link = match std::fs::read_link(&dest) {
            Ok(l) => l.to_string_lossy().into_owned(),
            Err(e) => return Some(format!("readlink {dest}: {}", errno_text(&e))),
        };
        path = format!("{link}{}", &path[end..]);
        if link.starts_with('/') {
            dest = "/".into();
            end = 1;
            vol_len = 1;
        } else {
            match last_slash(&dest, vol_len) {
                Some(r) => dest.truncate(r),
                None => dest.truncate(vol_len),
            }
            end = 0;
        }
    }
    None
}

/// The message Helm's loader gives for a link in a chart directory that cannot be followed.
pub(crate) fn broken_link_message(abs: &Path) -> Option<String> {
    let p = abs.to_string_lossy();
    eval_error(&p).map(|e| format!("error evaluating symlink {p}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_missing_component() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_string_lossy().into_owned();
        std::os::unix::fs::symlink("nope/deeper", dir.path().join("broken")).unwrap();
        std::os::unix::fs::symlink("loop", dir.path().join("loop")).unwrap();
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        std::os::unix::fs::symlink("file/x", dir.path().join("notdir")).unwrap();
        assert_eq!(
            broken_link_message(&dir.path().join("broken")).unwrap(),
            format!(
                "error evaluating symlink {d}/broken: lstat {d}/nope: no such file or directory"
            )
        );
        assert_eq!(
            eval_error(&format!("{d}/loop")).unwrap(),
            "EvalSymlinks: too many links"
        );
        assert_eq!(
            eval_error(&format!("{d}/notdir")).unwrap(),
            "not a directory"
        );
        assert_eq!(eval_error(&format!("{d}/file")), None);
    }
}
