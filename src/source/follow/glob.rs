//! Glob patterns in the file-name part of a followed path (`/var/log/gw/*.log`): `*` and `?`
//! over the bytes of a name, and the rescans that pick up new matches.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::{Follower, watch_dir};

/// One path or glob named on the command line.
pub(super) struct Pattern {
    /// Its index among the inputs.
    pub(super) index: u32,
    /// The directory part as given ("" for a bare name): matched paths are `dir.join(name)`.
    pub(super) dir: PathBuf,
    /// The file-name part: a name, or a glob with `*`/`?`.
    pub(super) name: OsString,
    pub(super) glob: bool,
}

/// `.` must be matched literally, as in the shell.
pub(super) fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') {
        return false;
    }
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
}

/// Whether a file name holds `*` or `?`.
pub(super) fn is_glob(s: &OsStr) -> bool {
    s.as_bytes().iter().any(|&b| b == b'*' || b == b'?')
}

impl Follower {
    /// New entries for the files a glob matches that are not followed yet.
    pub(super) fn rescan_glob(&mut self, pi: usize, startup: bool) {
        let p = &self.patterns[pi];
        let dir = watch_dir(&p.dir).to_path_buf();
        let Ok(rd) = fs::read_dir(&dir) else { return };
        let mut found = Vec::new();
        for de in rd.flatten() {
            let name = de.file_name();
            if glob_match(p.name.as_bytes(), name.as_bytes()) {
                found.push(p.dir.join(&name));
            }
        }
        found.sort();
        let input = p.index;
        for path in found {
            if self
                .entries
                .iter()
                .any(|e| e.input == input && e.path == path)
            {
                continue;
            }
            if fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let i = self.add_entry(pi, path, true);
            if startup {
                self.start_entry(i);
            } else {
                // Checked (opened from its start, noted as created) in this pass.
                self.check = true;
            }
        }
    }
}
