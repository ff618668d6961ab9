//! The follower's tests: real files in temp dirs, rotated, truncated, deleted and recreated.

use super::glob::glob_match;
use super::*;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const DEADLINE: Duration = Duration::from_secs(20);

fn opts(poll: Option<Duration>, from_start: bool) -> FollowOptions {
    FollowOptions {
        poll,
        from_start,
        max_line: 1000,
    }
}

fn follower(paths: &[&Path], o: FollowOptions) -> Follower {
    let p: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    Follower::new(&p, o).unwrap()
}

/// What a follower delivered: each line with its input, path and number.
#[derive(Default)]
struct Got {
    lines: Vec<(u32, PathBuf, u64, String)>,
    overlong: Vec<u64>,
    notes: Vec<FollowNote>,
}

impl Got {
    fn texts(&self) -> Vec<&str> {
        self.lines.iter().map(|l| l.3.as_str()).collect()
    }

    fn add(&mut self, chunks: Vec<FollowChunk>, notes: Vec<FollowNote>) {
        for c in chunks {
            assert!(c.data.is_empty() || c.data.ends_with(b"\n"), "{c:?}");
            let text = String::from_utf8(c.data).unwrap();
            for (k, l) in text.split_inclusive('\n').enumerate() {
                let l = l.strip_suffix('\n').expect("whole lines").to_owned();
                self.lines
                    .push((c.input, c.path.clone(), c.first_line + k as u64, l));
            }
            self.overlong.extend(c.overlong);
        }
        self.notes.extend(notes);
    }

    fn count(&self, f: impl Fn(&FollowNote) -> bool) -> usize {
        self.notes.iter().filter(|n| f(n)).count()
    }
}

/// Both ways of noticing changes: native events, and a poll every 50 ms.
const MODES: [Option<Duration>; 2] = [None, Some(Duration::from_millis(50))];

/// A follower (`poll`, `from_start`) of `gw.log` in a new temporary directory, the file written
/// with `initial` first, and what it delivered so far (nothing).
fn one_log(
    poll: Option<Duration>,
    from_start: bool,
    initial: impl AsRef<[u8]>,
) -> (tempfile::TempDir, PathBuf, Follower, Got) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.log");
    fs::write(&path, initial).unwrap();
    let f = follower(&[&path], opts(poll, from_start));
    (dir, path, f, Got::default())
}

/// Wait (deadline loop, no fixed sleeps) until `done` holds.
fn until(f: &mut Follower, got: &mut Got, done: impl Fn(&Got) -> bool) {
    let end = Instant::now() + DEADLINE;
    while !done(got) {
        assert!(
            Instant::now() < end,
            "timed out; got {:?} notes {:?}",
            got.texts(),
            got.notes
        );
        let (c, n) = f.wait(Duration::from_millis(200)).unwrap();
        got.add(c, n);
    }
}

/// Nothing more arrives within `d`.
fn quiet(f: &mut Follower, got: &mut Got, d: Duration) {
    let before = got.lines.len();
    let end = Instant::now() + d;
    while Instant::now() < end {
        let (c, n) = f.wait(end - Instant::now()).unwrap();
        got.add(c, n);
    }
    assert_eq!(got.lines.len(), before, "unexpected {:?}", got.texts());
}

fn append(path: &Path, s: &str) {
    let mut w = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    w.write_all(s.as_bytes()).unwrap();
}

/// Truncate the file to nothing, in place (as copytruncate does).
fn truncate(path: &Path) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
}

/// Copy the file to `to`, then truncate it in place, as logrotate's `copytruncate` does.
fn copytruncate(path: &Path, to: impl AsRef<Path>) {
    fs::copy(path, to).unwrap();
    truncate(path);
}

/// Compress `path` to `path.gz` and remove it, as logrotate's `compress` does.
fn gzip_away(path: &Path) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&fs::read(path).unwrap()).unwrap();
    let mut name = path.as_os_str().to_owned();
    name.push(".gz");
    fs::write(PathBuf::from(name), gz.finish().unwrap()).unwrap();
    fs::remove_file(path).unwrap();
}

fn spin_until(what: &str, cond: impl Fn() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn followers_can_move_to_a_thread() {
    fn send<T: Send>() {}
    send::<Follower>();
    send::<StdinFollower>();
}

#[test]
fn glob_matching() {
    assert!(glob_match(b"*.log", b"a.log"));
    assert!(!glob_match(b"*.log", b".log.log"));
    assert!(glob_match(b".*", b".x"));
    assert!(glob_match(b"gw-??.log", b"gw-01.log"));
    assert!(!glob_match(b"gw-??.log", b"gw-1.log"));
    assert!(glob_match(b"*a*b*", b"xxaxxbxx"));
    assert!(!glob_match(b"*a*b", b"xxaxxbxx"));
    assert!(glob_match(b"*", b"anything"));
    assert!(!glob_match(b"*.log", b"a.log.1"));
    assert!(
        Follower::new(&["/tmp/*/x.log".to_owned()], opts(None, false))
            .err()
            .unwrap()
            .to_string()
            .contains("file name only")
    );
}

#[test]
fn appended_lines_are_delivered_with_their_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.log");
    append(&path, "one\ntwo\nthree\n");
    let mut f = follower(&[&path], opts(None, false));
    let mut got = Got::default();
    quiet(&mut f, &mut got, Duration::from_millis(200));
    append(&path, "four\nfive\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    append(&path, "six\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 3);
    let expect: Vec<(u32, PathBuf, u64, String)> = [(4, "four"), (5, "five"), (6, "six")]
        .iter()
        .map(|(n, s)| (0, path.clone(), *n, s.to_string()))
        .collect();
    assert_eq!(got.lines, expect);
    assert!(got.notes.is_empty(), "{:?}", got.notes);
}

#[test]
fn partial_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.log");
    append(&path, "old\nstarted but");
    let mut f = follower(&[&path], opts(None, false));
    let mut got = Got::default();
    quiet(&mut f, &mut got, Duration::from_millis(200));
    append(&path, " finished\nabc");
    until(&mut f, &mut got, |g| !g.lines.is_empty());
    quiet(&mut f, &mut got, Duration::from_millis(300));
    append(&path, "def\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    assert_eq!(got.texts(), ["started but finished", "abcdef"]);
    assert_eq!(got.lines[0].2, 2);
    assert_eq!(got.lines[1].2, 3);
}

#[test]
fn rename_and_create_drains_the_old_file_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.log");
    fs::write(&path, "").unwrap();
    let mut f = follower(&[&path], opts(None, false));
    let mut w = fs::OpenOptions::new().append(true).open(&path).unwrap();
    w.write_all(b"a\nb\n").unwrap();
    let mut got = Got::default();
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    // logrotate `create`: rename, create; the writer goes on with the old file until it
    // reopens the path.
    fs::rename(&path, dir.path().join("gw.log.1")).unwrap();
    w.write_all(b"c\n").unwrap();
    let mut f2 = fs::File::create(&path).unwrap();
    let (c, n) = f.wait(Duration::from_millis(100)).unwrap();
    got.add(c, n);
    w.write_all(b"d\nlast without newline").unwrap();
    let (c, n) = f.wait(Duration::from_millis(100)).unwrap();
    got.add(c, n);
    f2.write_all(b"e\nf\n").unwrap();
    until(&mut f, &mut got, |g| g.lines.len() >= 7);
    assert_eq!(
        got.texts(),
        ["a", "b", "c", "d", "last without newline", "e", "f"]
    );
    let numbers: Vec<u64> = got.lines.iter().map(|l| l.2).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 1, 2]);
    assert_eq!(got.count(|n| matches!(n, FollowNote::Rotated { .. })), 1);
    quiet(&mut f, &mut got, Duration::from_millis(200));
}

#[test]
fn copytruncate_restarts_at_the_start() {
    let (dir, path, mut f, mut got) = one_log(None, false, "");
    append(&path, "line 1\nline 2\nline 3\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 3);
    copytruncate(&path, dir.path().join("gw.log.1"));
    append(&path, "line 4\nline 5\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 5);
    assert_eq!(
        got.texts(),
        ["line 1", "line 2", "line 3", "line 4", "line 5"]
    );
    assert_eq!(got.lines[3].2, 1);
    assert_eq!(got.count(|n| matches!(n, FollowNote::Truncated { .. })), 1);
}

#[test]
fn delete_and_recreate() {
    let (_dir, path, mut f, mut got) = one_log(None, false, "");
    append(&path, "a\nb");
    until(&mut f, &mut got, |g| !g.lines.is_empty());
    fs::remove_file(&path).unwrap();
    append(&path, "c\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 3);
    // The deleted file's partial last line is delivered: nothing can complete it.
    assert_eq!(got.texts(), ["a", "b", "c"]);
    // Removed + Created, or Rotated when the new file was there at the first look.
    assert!(
        got.count(|n| matches!(n, FollowNote::Rotated { .. } | FollowNote::Created { .. })) == 1,
        "{:?}",
        got.notes
    );
    let removed = got.count(|n| matches!(n, FollowNote::Removed { .. }));
    fs::remove_file(&path).unwrap();
    until(&mut f, &mut got, |g| {
        g.count(|n| matches!(n, FollowNote::Removed { .. })) > removed
    });
    append(&path, "d\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 4);
    assert_eq!(got.lines[3].2, 1);
    assert!(matches!(got.notes.last(), Some(FollowNote::Created { .. })));
}

#[test]
fn absent_at_start_then_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");
    let mut f = follower(&[&path], opts(None, false));
    let mut got = Got::default();
    quiet(&mut f, &mut got, Duration::from_millis(200));
    append(&path, "first\nsecond\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    assert_eq!(got.texts(), ["first", "second"]);
    assert_eq!(
        got.notes,
        [
            FollowNote::Waiting {
                input: 0,
                path: path.clone(),
                dir_missing: false
            },
            FollowNote::Created {
                input: 0,
                path: path.clone()
            }
        ]
    );
}

#[test]
fn absent_directory_is_picked_up_by_the_safety_net() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("later");
    let path = sub.join("gw.log");
    let mut f = follower(&[&path], opts(None, false));
    let mut got = Got::default();
    fs::create_dir(&sub).unwrap();
    append(&path, "x\n");
    until(&mut f, &mut got, |g| !g.lines.is_empty());
    // Now the directory is watched: the next line comes by event.
    append(&path, "y\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    assert_eq!(got.texts(), ["x", "y"]);
}

#[test]
fn glob_picks_up_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    append(&a, "old a\n");
    let other = dir.path().join("other.txt");
    let pats = [
        other.display().to_string(),
        dir.path().join("*.log").display().to_string(),
    ];
    let mut f = Follower::new(&pats, opts(None, false)).unwrap();
    let mut got = Got::default();
    quiet(&mut f, &mut got, Duration::from_millis(200));
    let b = dir.path().join("b.log");
    append(&b, "b1\nb2\n");
    append(&dir.path().join("c.txt"), "not matched\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    append(&a, "a2\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 3);
    append(&other, "o1\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 4);
    let expect: Vec<(u32, PathBuf, u64, String)> = vec![
        (1, b.clone(), 1, "b1".into()),
        (1, b.clone(), 2, "b2".into()),
        (1, a.clone(), 2, "a2".into()),
        (0, other.clone(), 1, "o1".into()),
    ];
    assert_eq!(got.lines, expect);
    assert!(
        got.notes
            .contains(&FollowNote::Created { input: 1, path: b })
    );
}

#[test]
fn glob_match_of_a_renamed_file_is_not_read_again() {
    // The application renames gw.log to gw-1.log (which the glob matches too) and starts
    // a new gw.log: gw-1.log goes on where gw.log stopped.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.log");
    fs::write(&path, "").unwrap();
    let pats = [dir.path().join("gw*.log").display().to_string()];
    let mut f = Follower::new(&pats, opts(None, false)).unwrap();
    let mut got = Got::default();
    let mut w = fs::OpenOptions::new().append(true).open(&path).unwrap();
    w.write_all(b"1\n2\n").unwrap();
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    fs::rename(&path, dir.path().join("gw-1.log")).unwrap();
    w.write_all(b"3\n").unwrap();
    until(&mut f, &mut got, |g| g.lines.len() >= 3);
    append(&path, "4\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 4);
    quiet(&mut f, &mut got, Duration::from_millis(1500));
    assert_eq!(got.texts(), ["1", "2", "3", "4"]);
}

#[test]
fn from_start_reads_existing_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.log");
    append(&path, "one\ntwo\npartial");
    let mut f = follower(&[&path], opts(None, true));
    let mut got = Got::default();
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    quiet(&mut f, &mut got, Duration::from_millis(200));
    append(&path, "\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 3);
    assert_eq!(got.texts(), ["one", "two", "partial"]);
}

#[test]
fn overlong_lines_are_skipped_and_counted() {
    let (_dir, path, mut f, mut got) = one_log(None, false, "");
    let long = "x".repeat(5000);
    append(&path, &format!("short\n{long}\nafter\n"));
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    // An overlong line arriving in pieces is dropped as it streams, never held.
    append(&path, &"y".repeat(700));
    let (c, n) = f.wait(Duration::from_millis(100)).unwrap();
    got.add(c, n);
    append(&path, &"y".repeat(700));
    let (c, n) = f.wait(Duration::from_millis(100)).unwrap();
    got.add(c, n);
    append(&path, &format!("{}\nend\n", "y".repeat(700)));
    until(&mut f, &mut got, |g| g.lines.len() >= 3);
    let lines: Vec<(u64, &str)> = got.lines.iter().map(|l| (l.2, l.3.as_str())).collect();
    assert_eq!(lines, [(1, "short"), (3, "after"), (5, "end")]);
    assert_eq!(got.overlong, [2, 4]);
    // (That an overlong line is never held is the framer's test.)
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Create,
    CopyTruncate,
}

/// 20 000 numbered lines from a steady writer thread, rotated every 1 000 lines: each line
/// delivered once, in order.
fn rotation_stress(style: Style, poll: Option<Duration>) {
    const N: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.log");
    fs::write(&path, "").unwrap();
    let mut f = follower(&[&path], opts(poll, false));
    let seen = Arc::new(AtomicUsize::new(0)); // rotations or truncations noticed
    let delivered = Arc::new(AtomicU64::new(0));
    let writer = {
        let (seen, delivered, path) = (seen.clone(), delivered.clone(), path.clone());
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || {
            let open = || {
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .unwrap()
            };
            let mut w = open();
            // Each line in two writes, so that the follower also sees partial lines.
            let put = |w: &mut fs::File, i: u64| {
                let line = format!("line {i:05} {}\n", "p".repeat((i % 37) as usize));
                let cut = (i as usize * 7) % line.len();
                w.write_all(&line.as_bytes()[..cut]).unwrap();
                w.write_all(&line.as_bytes()[cut..]).unwrap();
            };
            let mut i = 0;
            while i < N {
                if i > 0 && i % 1000 == 0 {
                    let k = (i / 1000) as usize;
                    let rotated = dir.join(format!("gw.log.{k}"));
                    match style {
                        Style::Create => {
                            // Rotations hours apart in real life: at least the previous
                            // one has been noticed (tail -F, too, cannot follow a file
                            // that was rotated away twice before it looked).
                            spin_until("previous rotation", || {
                                seen.load(Ordering::SeqCst) + 1 >= k
                            });
                            fs::rename(&path, &rotated).unwrap();
                            // The writer goes on with the old file until it reopens.
                            for _ in 0..3 {
                                put(&mut w, i);
                                i += 1;
                            }
                            let mut new = open();
                            put(&mut w, i);
                            i += 1;
                            std::mem::swap(&mut w, &mut new);
                        }
                        Style::CopyTruncate => {
                            // copytruncate has two inherent races, in real `tail -F` as
                            // here: lines written between the copy and the truncation are
                            // only in the copy, and lines the follower had not read yet
                            // when the file was truncated are gone from it. A truncation
                            // is also seen only while the file is shorter than what was
                            // read. So the writer pauses: until all it wrote is read, for
                            // the copy and truncation, and until the truncation is seen.
                            spin_until("lines read before the copy", || {
                                delivered.load(Ordering::SeqCst) == i
                            });
                            copytruncate(&path, &rotated);
                            spin_until("truncation noticed", || seen.load(Ordering::SeqCst) >= k);
                        }
                    }
                }
                put(&mut w, i);
                i += 1;
                if i % 25 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    let mut next = 0u64;
    let mut line_no = 0u64;
    let end = Instant::now() + Duration::from_secs(60);
    while next < N {
        assert!(Instant::now() < end, "timed out at line {next}");
        let (chunks, notes) = f.wait(Duration::from_millis(200)).unwrap();
        for n in &notes {
            match n {
                FollowNote::Rotated { .. } if style == Style::Create => {}
                FollowNote::Truncated { .. } if style == Style::CopyTruncate => {}
                // Between the rename and the creation, the path is absent.
                FollowNote::Removed { .. } if style == Style::Create => continue,
                other => panic!("unexpected note {other:?}"),
            }
            seen.fetch_add(1, Ordering::SeqCst);
        }
        for c in chunks {
            assert!(c.overlong.is_empty());
            assert!(
                c.first_line == line_no + 1 || c.first_line == 1,
                "numbering"
            );
            line_no = c.first_line - 1;
            for l in c.data.split_inclusive(|b| *b == b'\n') {
                let want = format!("line {next:05} {}\n", "p".repeat((next % 37) as usize));
                assert_eq!(std::str::from_utf8(l).unwrap(), want);
                next += 1;
                line_no += 1;
            }
            delivered.store(next, Ordering::SeqCst);
        }
    }
    writer.join().unwrap();
    let mut got = Got::default();
    quiet(&mut f, &mut got, Duration::from_millis(300));
    assert_eq!(seen.load(Ordering::SeqCst) + got.notes.len(), 19);
}

#[test]
fn rotation_stress_create() {
    rotation_stress(Style::Create, None);
}

#[test]
fn rotation_stress_copytruncate() {
    rotation_stress(Style::CopyTruncate, None);
}

#[test]
fn rotation_stress_create_poll() {
    rotation_stress(Style::Create, Some(Duration::from_millis(50)));
}

#[test]
fn rotation_stress_copytruncate_poll() {
    rotation_stress(Style::CopyTruncate, Some(Duration::from_millis(50)));
}

#[test]
fn poll_mode_follows_appends_and_creation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.log");
    let mut f = follower(&[&path], opts(Some(Duration::from_millis(50)), false));
    let mut got = Got::default();
    append(&path, "a\n");
    until(&mut f, &mut got, |g| !g.lines.is_empty());
    append(&path, "b\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    assert_eq!(got.texts(), ["a", "b"]);
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// An idle wait blocks: measured in a child process running only this test, so that the
/// process CPU time (all threads, the watcher's included) is this follower's alone.
#[test]
fn idle_wait_uses_no_cpu() {
    const CHILD: &str = "GWMON_FOLLOW_IDLE_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        append(&path, "existing\n");
        let mut f = follower(&[&path], opts(None, false));
        let (c, _) = f.wait(Duration::from_millis(50)).unwrap();
        assert!(c.is_empty());
        let (cpu0, t0) = (cpu_seconds(), Instant::now());
        let (c, n) = f.wait(Duration::from_secs(2)).unwrap();
        let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed());
        assert!(c.is_empty() && n.is_empty());
        assert!(
            wall >= Duration::from_millis(1990),
            "returned early: {wall:?}"
        );
        println!("idle wait: {cpu:.4} s CPU over {wall:?}");
        assert!(cpu < 0.1, "idle wait used {cpu} s of CPU");
        return;
    }
    let name = "source::follow::tests::idle_wait_uses_no_cpu";
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("idle wait:"), "the child did not run: {text}");
}

#[test]
fn stdin_holds_a_partial_line_until_its_newline_or_the_end() {
    let (r, mut w) = io::pipe().unwrap();
    let mut s = StdinFollower::from_reader(Box::new(r), 1000).unwrap();
    let mut lines = Vec::new();
    let mut eof = false;
    let mut collect = |s: &mut StdinFollower, want: usize, lines: &mut Vec<(u64, String)>| {
        let end = Instant::now() + DEADLINE;
        while lines.len() < want && !eof {
            assert!(Instant::now() < end);
            let (chunks, e) = s.wait(Duration::from_millis(200));
            eof = e;
            for c in chunks {
                let text = String::from_utf8(c.data).unwrap();
                for (k, l) in text.lines().enumerate() {
                    lines.push((c.first_line + k as u64, l.to_owned()));
                }
            }
        }
    };
    w.write_all(b"a\nb").unwrap();
    collect(&mut s, 1, &mut lines);
    assert_eq!(s.wait(Duration::from_millis(200)), (vec![], false));
    w.write_all(b"c\nd").unwrap();
    collect(&mut s, 2, &mut lines);
    drop(w);
    collect(&mut s, 3, &mut lines);
    let want: Vec<(u64, String)> = vec![(1, "a".into()), (2, "bc".into()), (3, "d".into())];
    assert_eq!(lines, want);
    let end = Instant::now() + DEADLINE;
    while !s.wait(Duration::from_millis(100)).1 {
        assert!(Instant::now() < end);
    }
    assert!(s.error().is_none());
}

#[test]
fn copytruncate_reads_the_unread_rest_from_the_copy() {
    for poll in MODES {
        let (dir, path, mut f, mut got) = one_log(poll, false, "");
        append(&path, "line 1\nline 2\nline 3\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        // Written before the copy, not read yet (and a partial line held over).
        append(&path, "line 4\nline 5\nline");
        let (c, n) = f.wait(Duration::from_millis(10)).unwrap();
        got.add(c, n);
        append(&path, " 6\n");
        copytruncate(&path, dir.path().join("gw.log.1"));
        append(&path, "line 7\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 7);
        assert_eq!(
            got.texts(),
            [
                "line 1", "line 2", "line 3", "line 4", "line 5", "line 6", "line 7"
            ],
            "{poll:?}"
        );
        // The rest from the copy keeps its numbering; the truncated file starts again at 1.
        let nums: Vec<u64> = got.lines.iter().map(|l| l.2).collect();
        assert_eq!(nums, [1, 2, 3, 4, 5, 6, 1]);
        // Line 6, held partial when the file was copied, comes whole from the copy.
        assert!(got.lines[5].1.ends_with("gw.log.1"), "{:?}", got.lines[5]);
        assert_eq!(got.count(|n| matches!(n, FollowNote::Recovered { .. })), 1);
        assert_eq!(got.count(|n| matches!(n, FollowNote::Lost { .. })), 0);
        quiet(&mut f, &mut got, Duration::from_millis(200));
    }
}

/// A copytruncate under a busy writer: before the follower looks again, the truncated file has
/// grown past the offset it had read to, so its length says nothing. The bytes before that
/// offset changed, which is how the truncation is noticed; the unread rest comes from the copy.
#[test]
fn copytruncate_rewritten_past_the_old_offset_is_noticed() {
    for poll in MODES {
        let (dir, path, mut f, mut got) = one_log(poll, false, "");
        append(&path, "old 1\nold 2\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        append(&path, "old 3\n");
        copytruncate(&path, dir.path().join("gw.log.1"));
        append(&path, "new line one is longer\nnew 2\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 5);
        assert_eq!(
            got.texts(),
            ["old 1", "old 2", "old 3", "new line one is longer", "new 2"],
            "{poll:?}"
        );
        assert_eq!(got.count(|n| matches!(n, FollowNote::Truncated { .. })), 1);
        assert_eq!(got.count(|n| matches!(n, FollowNote::Lost { .. })), 0);
        quiet(&mut f, &mut got, Duration::from_millis(200));
        assert_eq!(got.lines.len(), 5, "{poll:?}: {:?}", got.texts());
    }
}

/// Two copytruncates in a row, each generation longer than the head kept to find its copy:
/// the second copy is found by the second generation's first bytes, not the first's (whose copy
/// is still beside it, renamed to `.2`).
#[test]
fn successive_copytruncates_find_each_generation_copy() {
    let (dir, path, mut f, mut got) = one_log(Some(Duration::from_millis(50)), false, "");
    let generation = |g: u32| -> String {
        (1..=40)
            .map(|n| format!("generation {g} line {n:02} {}\n", "x".repeat(40)))
            .collect()
    };
    let rotate = |unread: &str| {
        append(&path, unread);
        let p1 = dir.path().join("gw.log.1");
        if p1.exists() {
            fs::rename(&p1, dir.path().join("gw.log.2")).unwrap();
        }
        copytruncate(&path, &p1);
    };
    for g in 1..=2 {
        append(&path, &generation(g));
        until(&mut f, &mut got, |x| x.lines.len() >= 41 * g as usize - 1);
        rotate(&format!("generation {g} unread\n"));
    }
    append(&path, "generation 3\n");
    until(&mut f, &mut got, |x| x.lines.len() >= 83);
    quiet(&mut f, &mut got, Duration::from_millis(200));
    let texts = got.texts();
    assert_eq!(texts.len(), 83, "{texts:?}");
    assert_eq!(texts[40], "generation 1 unread");
    assert_eq!(texts[81], "generation 2 unread");
    assert_eq!(texts[82], "generation 3");
}

/// Two rename + create rotations between two looks, the latest file still empty (the writer
/// stopped after writing to the middle one): the middle generation is read, although the path's
/// file has no data yet to show the writer moved on.
#[test]
fn two_rotations_with_the_latest_file_empty_read_the_middle_one() {
    for poll in MODES {
        let (dir, path, mut f, mut got) = one_log(poll, false, "");
        append(&path, "first 1\n");
        until(&mut f, &mut got, |g| !g.lines.is_empty());
        fs::rename(&path, dir.path().join("gw.log.2")).unwrap();
        fs::write(&path, "middle 1\nmiddle 2\n").unwrap();
        fs::rename(&path, dir.path().join("gw.log.1")).unwrap();
        fs::write(&path, "").unwrap();
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        assert_eq!(got.texts(), ["first 1", "middle 1", "middle 2"], "{poll:?}");
        quiet(&mut f, &mut got, Duration::from_millis(200));
        assert_eq!(got.lines.len(), 3, "{poll:?}");
    }
}

#[test]
fn a_truncation_without_a_copy_is_told_as_lost() {
    let (_dir, path, mut f, mut got) = one_log(Some(Duration::from_millis(50)), false, "");
    append(&path, "line 1\nline 2\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 2);
    append(&path, "line 3\n");
    truncate(&path);
    append(&path, "x\n");
    until(&mut f, &mut got, |g| g.lines.len() >= 3);
    assert_eq!(got.texts(), ["line 1", "line 2", "x"]);
    assert_eq!(
        got.count(|n| matches!(n, FollowNote::Lost { after: 14, .. })),
        1
    );
}

#[test]
fn generations_rotated_away_between_two_looks_are_read_in_order() {
    for poll in MODES {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let path = d.join("gw.log");
        fs::write(&path, "").unwrap();
        let mut f = follower(&[&path], opts(poll, false));
        let mut got = Got::default();
        append(&path, "line 1\nline 2\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        // Three rotations (logrotate `create`, rotate 3) before the follower looks again.
        append(&path, "line 3\n");
        let shift = |n: u32| {
            for k in (1..n).rev() {
                let from = d.join(format!("gw.log.{k}"));
                if from.exists() {
                    fs::rename(&from, d.join(format!("gw.log.{}", k + 1))).unwrap();
                }
            }
            fs::rename(&path, d.join("gw.log.1")).unwrap();
        };
        shift(3);
        fs::write(&path, "line 4\n").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        shift(3);
        fs::write(&path, "line 5\nline 6\n").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        shift(3);
        fs::write(&path, "line 7\n").unwrap();
        until(&mut f, &mut got, |g| g.lines.len() >= 7);
        assert_eq!(
            got.texts(),
            [
                "line 1", "line 2", "line 3", "line 4", "line 5", "line 6", "line 7"
            ],
            "{poll:?}: {:?}",
            got.notes
        );
        assert_eq!(got.count(|n| matches!(n, FollowNote::Recovered { .. })), 2);
        // A compressed copy of a generation already read, then one more rotation: only the
        // new file's lines come.
        let gz = d.join("gw.log.2.gz");
        {
            let data = fs::read(d.join("gw.log.2")).unwrap();
            let mut e = flate2::write::GzEncoder::new(
                fs::File::create(&gz).unwrap(),
                flate2::Compression::fast(),
            );
            e.write_all(&data).unwrap();
            e.finish().unwrap();
        }
        fs::remove_file(d.join("gw.log.2")).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        shift(1);
        fs::write(&path, "line 8\n").unwrap();
        until(&mut f, &mut got, |g| g.lines.len() >= 8);
        quiet(&mut f, &mut got, Duration::from_millis(300));
        assert_eq!(got.texts().last(), Some(&"line 8"), "{:?}", got.texts());
        assert_eq!(got.lines.len(), 8, "{:?}", got.texts());
    }
}

/// A copytruncate after everything was read (the copy holds nothing new), the copy compressed,
/// then a rename + create rotation: the compressed copy is not read as a generation never seen.
#[test]
fn a_compressed_copy_of_a_file_read_whole_is_not_read_again() {
    for poll in MODES {
        let (dir, path, mut f, mut got) = one_log(poll, false, "");
        append(&path, "one 1\none 2\none 3\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        let copy = dir.path().join("gw.log.1");
        copytruncate(&path, &copy);
        until(&mut f, &mut got, |g| {
            g.count(|n| matches!(n, FollowNote::Truncated { .. })) == 1
        });
        gzip_away(&copy);
        append(&path, "two 1\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 4);
        fs::rename(&path, dir.path().join("gw.log.2")).unwrap();
        fs::write(&path, "three 1\n").unwrap();
        until(&mut f, &mut got, |g| g.lines.len() >= 5);
        quiet(&mut f, &mut got, Duration::from_millis(300));
        assert_eq!(
            got.texts(),
            ["one 1", "one 2", "one 3", "two 1", "three 1"],
            "{poll:?}"
        );
    }
}

/// A copytruncate whose copy is compressed before the follower looks, with lines in it not read
/// yet: the rest is read from the compressed copy once (it is not also taken for a generation
/// never seen, and read again from its start).
#[test]
fn a_compressed_copy_with_an_unread_rest_is_read_once() {
    for poll in MODES {
        let (dir, path, mut f, mut got) = one_log(poll, false, "");
        append(&path, "one 1\none 2\none 3\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        append(&path, "one 4\n");
        let copy = dir.path().join("gw.log.1");
        fs::copy(&path, &copy).unwrap();
        gzip_away(&copy);
        truncate(&path);
        append(&path, "two 1\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 5);
        quiet(&mut f, &mut got, Duration::from_millis(300));
        assert_eq!(
            got.texts(),
            ["one 1", "one 2", "one 3", "one 4", "two 1"],
            "{poll:?}"
        );
    }
}

/// A copytruncate before the file was read at all (its first bytes were taken when it was
/// opened): the copy is read, then the file anew.
#[test]
fn a_copytruncate_before_the_first_read_reads_the_copy() {
    for poll in MODES {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        fs::write(&path, "first 1\nfirst 2\n").unwrap();
        let mut f = follower(&[&path], opts(poll, true));
        copytruncate(&path, dir.path().join("gw.log.1"));
        append(&path, "second 1\n");
        let mut got = Got::default();
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        quiet(&mut f, &mut got, Duration::from_millis(300));
        assert_eq!(got.texts(), ["first 1", "first 2", "second 1"], "{poll:?}");
    }
}

/// An empty file written and copytruncated before the follower read any of it — left empty
/// again, as it was, or written again: the copy, written since the last look and no copy of
/// what the file holds now, is read first, then the file.
#[test]
fn written_copytruncated_and_maybe_written_again_between_two_looks_of_an_empty_file() {
    for (again, want) in [("", &["a 1", "a 2"][..]), ("b 1\n", &["a 1", "a 2", "b 1"])] {
        for poll in MODES {
            let (dir, path, mut f, mut got) = one_log(poll, false, "");
            quiet(&mut f, &mut got, Duration::from_millis(100));
            // (The file's mtime must move on past the coarse clock's tick.)
            std::thread::sleep(Duration::from_millis(20));
            append(&path, "a 1\na 2\n");
            copytruncate(&path, dir.path().join("gw.log.1"));
            append(&path, again);
            until(&mut f, &mut got, |g| g.lines.len() >= want.len());
            quiet(&mut f, &mut got, Duration::from_millis(300));
            assert_eq!(got.texts(), want, "{poll:?} {again:?}");
        }
    }
}

/// The same after a truncation the follower saw (its copy read): the file is empty at the
/// follower's offset 0 again, and the next copy is read before what came after it.
#[test]
fn a_second_copytruncate_between_two_looks_after_a_truncation_is_read() {
    for poll in MODES {
        let (dir, path, mut f, mut got) = one_log(poll, false, "");
        append(&path, "a 1\n");
        until(&mut f, &mut got, |g| !g.lines.is_empty());
        copytruncate(&path, dir.path().join("gw.log.1"));
        until(&mut f, &mut got, |g| {
            g.count(|n| matches!(n, FollowNote::Truncated { .. })) == 1
        });
        quiet(&mut f, &mut got, Duration::from_millis(100));
        std::thread::sleep(Duration::from_millis(20));
        append(&path, "b 1\nb 2\n");
        copytruncate(&path, dir.path().join("gw.log.2"));
        append(&path, "c 1\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 4);
        quiet(&mut f, &mut got, Duration::from_millis(300));
        assert_eq!(got.texts(), ["a 1", "b 1", "b 2", "c 1"], "{poll:?}");
    }
}

/// Files that all start with the same banner: a rotated file read whole and compressed, then
/// the new file (only its banner read) truncated without a copy. The compressed file holds the
/// banner where the new file's read ended, but it is no copy of it: nothing is read from it
/// again, and the truncated rest is told as lost.
#[test]
fn a_compressed_file_read_whole_is_no_copy_of_a_file_truncated_after_its_banner() {
    const BANNER: &str = "banner line 1 of the service, the same in every file\nbanner line 2\n";
    for poll in MODES {
        let (dir, path, mut f, mut got) = one_log(poll, true, BANNER);
        append(&path, "a 1\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        let old = dir.path().join("gw.log.1");
        fs::rename(&path, &old).unwrap();
        fs::write(&path, BANNER).unwrap();
        until(&mut f, &mut got, |g| g.lines.len() >= 5);
        gzip_away(&old);
        quiet(&mut f, &mut got, Duration::from_millis(100));
        append(&path, "c 1\n");
        truncate(&path);
        append(&path, "d 1\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 6);
        quiet(&mut f, &mut got, Duration::from_millis(300));
        let b: Vec<&str> = BANNER.lines().collect();
        assert_eq!(
            got.texts(),
            [b[0], b[1], "a 1", b[0], b[1], "d 1"],
            "{poll:?}: {:?}",
            got.notes
        );
        assert_eq!(got.count(|n| matches!(n, FollowNote::Lost { .. })), 1);
    }
}

/// The service still appends to the generation rotated away before the follower started (it
/// has not reopened its log yet) while the new file is empty: the new file's first line does not
/// make that generation be read from its start (it is no copy made since the last look).
#[test]
fn an_old_generation_still_written_is_not_read_whole_at_the_first_line() {
    for poll in MODES {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        let old = dir.path().join("gw.log.1");
        fs::write(&old, "old 1\nold 2\n").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&path, "").unwrap();
        let mut f = follower(&[&path], opts(poll, false));
        let mut got = Got::default();
        quiet(&mut f, &mut got, Duration::from_millis(100));
        std::thread::sleep(Duration::from_millis(20));
        append(&old, "old 3\n");
        append(&path, "new 1\n");
        until(&mut f, &mut got, |g| !g.lines.is_empty());
        quiet(&mut f, &mut got, Duration::from_millis(300));
        assert_eq!(got.texts(), ["new 1"], "{poll:?}");
    }
}

/// Between two looks: the file read is truncated (no copy) and rotated away, and the next one,
/// which starts with the same banner and is shorter than what was read of the first, is
/// copytruncated and its copy compressed (the rotation model's seeds 0x38224 and 0x1a0ab9).
/// That copy is no copy of the first file (it does not hold what was read): it is read whole —
/// also when the first file was there before the follower started (read from its end).
#[test]
fn a_shorter_copy_that_starts_alike_is_no_copy_of_the_file_read() {
    // Longer than the head that tells files apart.
    let banner: String = (0..20)
        .map(|i| format!("banner line {i:02} of the service, the same in every file ........\n"))
        .collect();
    for poll in MODES {
        for from_start in [true, false] {
            let (dir, path, mut f, mut got) = one_log(
                poll,
                from_start,
                format!("{banner}a 1\na 2\na 3\na 4\na 5\n"),
            );
            append(&path, "a 6\n");
            let mut want: Vec<&str> = Vec::new();
            if from_start {
                want.extend(banner.lines());
                want.extend(["a 1", "a 2", "a 3", "a 4", "a 5"]);
            }
            want.push("a 6");
            let n = want.len();
            until(&mut f, &mut got, |g| g.lines.len() >= n);
            truncate(&path);
            fs::rename(&path, dir.path().join("gw.log.1")).unwrap();
            fs::write(&path, format!("{banner}b 1\n")).unwrap();
            let copy = dir.path().join("gw.log.2");
            copytruncate(&path, &copy);
            gzip_away(&copy);
            want.extend(banner.lines());
            want.push("b 1");
            let n = want.len();
            until(&mut f, &mut got, |g| g.lines.len() >= n);
            quiet(&mut f, &mut got, Duration::from_millis(300));
            assert_eq!(got.texts(), want, "{poll:?} {from_start}: {:?}", got.notes);
        }
    }
}

/// A copytruncate's copy compressed between two looks, its original still beside it (gzip
/// writes the compressed file, then removes the original; or `gzip -k`): what was written after
/// the last read is read once, from one of them (seed 0x1a0ab9).
#[test]
fn a_copy_being_compressed_is_read_once() {
    for poll in MODES {
        let (dir, path, mut f, mut got) = one_log(poll, true, "a 1\na 2\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        append(&path, "a 3\na 4\n");
        let copy = dir.path().join("gw.log.1");
        copytruncate(&path, &copy);
        // (Written later than the copy: the newest of two that both hold what was read last.)
        std::thread::sleep(Duration::from_millis(20));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&fs::read(&copy).unwrap()).unwrap();
        fs::write(dir.path().join("gw.log.1.gz"), gz.finish().unwrap()).unwrap();
        append(&path, "b 1\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 5);
        quiet(&mut f, &mut got, Duration::from_millis(300));
        assert_eq!(
            got.texts(),
            ["a 1", "a 2", "a 3", "a 4", "b 1"],
            "{poll:?}: {:?}",
            got.notes
        );
    }
}
