//! Change detection for the follower: a non-recursive watch (inotify through `notify`) on the
//! directory of every followed path, put on when the directory appears and moved when it is
//! replaced. Events only say what to check; reading is the state machine's business.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

use super::glob::glob_match;
use super::{FollowNote, Follower, watch_dir};
use crate::source::identity::FileId;

/// A directory watched for change events (the parent of one or more followed paths).
pub(super) struct WatchedDir {
    pub(super) path: PathBuf,
    /// The directory the watch was put on (it may be replaced).
    pub(super) watching: Option<FileId>,
    pub(super) error: Option<String>,
}

/// The inotify limit is the one error that stops following; say how to get past it.
pub(super) fn limit_error(what: &str, e: notify::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "{what}: {e}; the inotify limits (fs.inotify.max_user_watches, \
         fs.inotify.max_user_instances) may be reached: raise them, or use --poll"
    )
}

impl Follower {
    /// Block until an event or `dur`, recording what to check.
    pub(super) fn block(&mut self, dur: Duration) -> anyhow::Result<()> {
        let Some((_, rx)) = &self.watcher else {
            std::thread::sleep(dur);
            return Ok(());
        };
        let mut events = Vec::new();
        match rx.recv_timeout(dur) {
            Ok(ev) => {
                events.push(ev);
                while let Ok(ev) = rx.try_recv() {
                    events.push(ev);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // The watcher thread is gone: the safety net still checks.
                std::thread::sleep(dur);
            }
        }
        for ev in events {
            self.on_event(ev)?;
        }
        Ok(())
    }

    fn on_event(&mut self, ev: notify::Result<notify::Event>) -> anyhow::Result<()> {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                if let notify::ErrorKind::MaxFilesWatch = e.kind {
                    return Err(limit_error("cannot watch files", e));
                }
                let path = e.paths.first().cloned().unwrap_or_default();
                self.notes.push(FollowNote::Error {
                    input: 0,
                    path,
                    message: format!("file watch: {e}"),
                });
                self.full = true;
                return Ok(());
            }
        };
        if ev.need_rescan() || ev.paths.is_empty() {
            self.full = true;
            return Ok(());
        }
        if matches!(ev.kind, EventKind::Access(_)) {
            // Opens (ours included) and closes: no content change.
            return Ok(());
        }
        for p in &ev.paths {
            if self.dirs.iter().any(|d| d.path == *p) {
                // The directory itself was removed or moved.
                self.full = true;
                continue;
            }
            let Some(name) = p.file_name() else { continue };
            if self
                .patterns
                .iter()
                .any(|pt| pt.glob && glob_match(pt.name.as_bytes(), name.as_bytes()))
            {
                self.rescan = true;
                self.check = true;
            }
            if self.detached || self.entries.iter().any(|e| e.name == name) {
                self.check = true;
            }
        }
        Ok(())
    }

    pub(super) fn maintain_watches(&mut self) -> anyhow::Result<()> {
        let Some((w, _)) = &mut self.watcher else {
            return Ok(());
        };
        for d in &mut self.dirs {
            let id = fs::metadata(&d.path).ok().map(|m| FileId::of(&m));
            if id == d.watching {
                continue;
            }
            if d.watching.is_some() {
                let _ = w.unwatch(&d.path);
                d.watching = None;
            }
            if id.is_none() {
                continue;
            }
            match w.watch(&d.path, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    d.watching = id;
                    d.error = None;
                }
                Err(e) => {
                    if let notify::ErrorKind::MaxFilesWatch = e.kind {
                        return Err(limit_error(
                            &format!("cannot watch {}", d.path.display()),
                            e,
                        ));
                    }
                    if let notify::ErrorKind::PathNotFound = e.kind {
                        continue;
                    }
                    let message = format!("cannot watch the directory: {e}");
                    if d.error.as_ref() != Some(&message) {
                        d.error = Some(message.clone());
                        let input = self
                            .patterns
                            .iter()
                            .find(|p| watch_dir(&p.dir) == d.path)
                            .map_or(0, |p| p.index);
                        self.notes.push(FollowNote::Error {
                            input,
                            path: d.path.clone(),
                            message,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// Running out of inotify watches says how to get past it.
    #[test]
    fn the_inotify_limit_error_suggests_poll() {
        let e = super::limit_error(
            "cannot watch /var/log",
            notify::Error::generic("No space left on device"),
        );
        let msg = format!("{e:#}");
        assert!(msg.contains("fs.inotify.max_user_watches"), "{msg}");
        assert!(msg.contains("use --poll"), "{msg}");
    }
}
