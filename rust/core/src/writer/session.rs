//! A writer session: what torch's `SummaryWriter` keeps between calls, for any caller.
//!
//! A [`Session`] owns a log directory's *main* event file and the event files of its
//! *sub-runs* (directories under the log directory, as torch's `add_scalars` makes them), all
//! on one [`EventWriter`]. Its policy, the same for the Python binding and for a Rust user:
//!
//! * **Reopen after close.** After [`Session::close`], the next call that needs a file
//!   ([`Session::main`], [`Session::sub_run`]) starts a new writer with a new main event file,
//!   as torch's `_get_file_writer()` does; sub-run files are created again on first use.
//! * **A fresh file after fork.** A forked child's copy of a session does not touch the
//!   parent's writer (its locks may be held forever, its thread is gone): the parent's writer
//!   is leaked, and the next call opens a new writer whose file names carry the child's pid.
//!   Flushing or closing a forked copy does nothing.
//! * **Purge once.** A `purge_step` is written (as torch's two purge events) to the first
//!   main file opened after [`Session::configure`], not to the files of later reopenings.
//! * **Sub-run paths stay inside the log directory.** [`sub_run_dir`] builds torch's sub-run
//!   name for `add_scalars` and refuses one that could point outside the log directory or
//!   could not be created; [`check_sub_run`] checks a sub-run name given directly.
//! * **A close racing an append.** [`Session::with_file`] retries an append that found its
//!   writer closed by another thread (nothing was queued) on the reopened writer, so the
//!   record lands in the new file instead of being lost.
//!
//! Nothing here blocks on another thread except [`Session::flush`] and [`Session::close`] (and
//! appends made through [`Session::with_file`], which may wait for a full queue); a caller
//! holding a lock the writer thread may need (Python's GIL) releases it around those.

use std::collections::HashMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{EventWriter, FileId, WriteError, WriterOptions};
use crate::summary::{self, Step, WallTime};

/// How often an append is retried when another thread's `close()` closed the writer between
/// taking it and appending (each retry reopens, as an append after `close()` does).
const CLOSED_RETRIES: usize = 16;

/// Longest name of one directory component on common filesystems, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// What a session writes and how.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The log directory (a local path or an object store URL, see [`crate::storage`]).
    pub log_dir: PathBuf,
    /// The suffix of every event file's name (torch's `filename_suffix`).
    pub suffix: String,
    /// The writer's options, for every writer the session starts.
    pub options: WriterOptions,
    /// Written as torch's purge events to the first main file (torch's `purge_step`).
    pub purge_step: Option<i64>,
}

/// Why a session could not give a file.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// [`Session::configure`] was never called.
    #[error("the session is not configured")]
    NotConfigured,
    /// The writer thread could not be started.
    #[error("cannot start writer thread: {0}")]
    Spawn(io::Error),
    /// Creating an event file (or writing its purge events) failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A sub-run name that is refused.
    #[error(transparent)]
    SubRun(#[from] SubRunError),
}

/// A refused sub-run directory name (see [`sub_run_dir`] and [`check_sub_run`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubRunError {
    /// `main_tag` or the tag contains NUL or a backslash (a separator on Windows).
    #[error(
        "{arg} {value:?} names a sub-run directory under log_dir (add_scalars) and must not \
         contain NUL or backslashes"
    )]
    BadCharacter {
        /// `main_tag` or `tag_scalar_dict key`.
        arg: &'static str,
        /// The refused value.
        value: String,
    },
    /// A component of the sub-run name is longer than a file system allows.
    #[error(
        "main_tag and tag_scalar_dict key {tag:?} make a sub-run directory name longer than \
         {MAX_NAME_BYTES} bytes ({rel:?})"
    )]
    TooLong {
        /// The tag.
        tag: String,
        /// The sub-run name.
        rel: String,
    },
    /// The sub-run name would point outside the log directory (a `..` component).
    #[error(
        "tag_scalar_dict key {tag:?} would name a directory outside log_dir ({rel:?}); keys \
         must not contain '..' path components"
    )]
    Outside {
        /// The tag.
        tag: String,
        /// The sub-run name.
        rel: String,
    },
    /// A sub-run name given directly is empty, absolute, or has a `..` component, NUL or a
    /// backslash.
    #[error("run {0:?} must name a directory inside log_dir (relative, without '..')")]
    NotInside(String),
}

/// `{main_tag with "/" -> "_"}_{tag}`, torch's sub-run directory for `add_scalars`, refused
/// when it could point outside the log directory (a `..` component; `/` in `main_tag` is
/// replaced and the name never starts with one), or could not be created (NUL, a component
/// over 255 bytes). Backslashes are refused too: they are separators on Windows.
pub fn sub_run_dir(main_tag: &str, tag: &str) -> Result<String, SubRunError> {
    for (arg, s) in [("main_tag", main_tag), ("tag_scalar_dict key", tag)] {
        if s.contains('\0') || s.contains('\\') {
            return Err(SubRunError::BadCharacter {
                arg,
                value: s.to_owned(),
            });
        }
    }
    let rel = format!("{}_{}", main_tag.replace('/', "_"), tag);
    for c in Path::new(&rel).components() {
        match c {
            Component::Normal(part) if part.len() <= MAX_NAME_BYTES => {}
            Component::Normal(_) => {
                return Err(SubRunError::TooLong {
                    tag: tag.to_owned(),
                    rel,
                })
            }
            Component::CurDir => {}
            _ => {
                return Err(SubRunError::Outside {
                    tag: tag.to_owned(),
                    rel,
                })
            }
        }
    }
    Ok(rel)
}

/// Checks that `rel` names a sub-run directory inside the log directory (as [`sub_run_dir`]
/// makes them): relative, without `..`, NUL or backslashes.
pub fn check_sub_run(rel: &str) -> Result<(), SubRunError> {
    let inside = !rel.is_empty()
        && !rel.contains('\0')
        && !rel.contains('\\')
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if inside {
        Ok(())
    } else {
        Err(SubRunError::NotInside(rel.to_owned()))
    }
}

/// The writer of a session while it is open.
struct Open {
    writer: Arc<EventWriter>,
    main: FileId,
    main_path: PathBuf,
    /// Sub-run directory (relative to `log_dir`) -> its file and the file's path.
    subs: HashMap<String, (FileId, PathBuf)>,
}

impl Open {
    /// Whether this writer takes appends (not closed, not a forked child's copy).
    fn live(&self) -> bool {
        !self.writer.is_closed() && !self.writer.is_forked_copy()
    }
}

/// Drops `open`, or leaks it in a forked child (the parent's writer must not be touched).
fn release(open: Open) {
    if open.writer.is_forked_copy() {
        std::mem::forget(open);
    }
}

#[derive(Default)]
struct State {
    config: Option<SessionConfig>,
    /// The purge step not yet written.
    purge_step: Option<i64>,
    open: Option<Open>,
}

/// One log directory's main event file and sub-run files, reopened after close or fork. See
/// the module documentation.
///
/// Dropping a session drops its writer (which closes it once no [`Arc`] handed out by
/// [`Session::main`] or [`Session::sub_run`] is left), or leaks it in a forked child.
#[derive(Default)]
pub struct Session {
    state: Mutex<State>,
}

impl Session {
    /// A session with no configuration: every call that needs a file fails with
    /// [`SessionError::NotConfigured`] until [`Session::configure`].
    pub fn new() -> Self {
        Session::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the configuration and opens the writer and its main file (the previous writer,
    /// if any, is dropped: closed once no one holds it).
    pub fn configure(&self, config: SessionConfig) -> Result<(), SessionError> {
        let mut st = self.lock();
        if let Some(old) = st.open.take() {
            release(old);
        }
        st.purge_step = config.purge_step;
        st.config = Some(config);
        Self::current(&mut st).map(|_| ())
    }

    /// The open writer and main file, (re)opening when the writer was closed or this is a
    /// forked child's copy.
    fn current(st: &mut State) -> Result<(Arc<EventWriter>, FileId), SessionError> {
        if let Some(open) = &st.open {
            if open.live() {
                return Ok((Arc::clone(&open.writer), open.main));
            }
        }
        if let Some(old) = st.open.take() {
            release(old);
        }
        let config = st.config.as_ref().ok_or(SessionError::NotConfigured)?;
        let writer = EventWriter::spawn(config.options.clone()).map_err(SessionError::Spawn)?;
        let (main, main_path) = writer.create_file(&config.log_dir, &config.suffix)?;
        if let Some(step) = st.purge_step.take() {
            let mut buf = Vec::new();
            for ev in summary::purge_events(Step(step), WallTime::now()) {
                summary::encode_into(&ev, &mut buf);
                writer.append(main, &buf)?;
            }
        }
        let writer = Arc::new(writer);
        st.open = Some(Open {
            writer: Arc::clone(&writer),
            main,
            main_path,
            subs: HashMap::new(),
        });
        Ok((writer, main))
    }

    /// The writer and the main event file, opening a new writer and main file when the
    /// session was closed or this is a forked child's copy.
    pub fn main(&self) -> Result<(Arc<EventWriter>, FileId), SessionError> {
        Self::current(&mut self.lock())
    }

    /// The writer and the event file of sub-run `rel` (a directory under the log directory,
    /// checked by [`check_sub_run`]), created on first use since the session was (re)opened.
    pub fn sub_run(&self, rel: &str) -> Result<(Arc<EventWriter>, FileId), SessionError> {
        check_sub_run(rel)?;
        let mut st = self.lock();
        let (writer, _) = Self::current(&mut st)?;
        let st = &mut *st;
        let open = st.open.as_mut().expect("opened above");
        if let Some((id, _)) = open.subs.get(rel) {
            return Ok((writer, *id));
        }
        let config = st.config.as_ref().expect("configured");
        let (id, path) = writer.create_file(&config.log_dir.join(rel), &config.suffix)?;
        open.subs.insert(rel.to_owned(), (id, path));
        Ok((writer, id))
    }

    /// Runs `op` on the writer and file that `pick` gives (usually [`Session::main`] or
    /// [`Session::sub_run`]). When another thread's [`Session::close`] closed that writer in
    /// between ([`WriteError::Closed`]: nothing was queued), picks again (which reopens) and
    /// retries, so the record lands in the new file instead of being lost. `pick`'s error is
    /// the outer one; `op`'s the inner.
    pub fn with_file<E>(
        &self,
        mut pick: impl FnMut(&Self) -> Result<(Arc<EventWriter>, FileId), E>,
        mut op: impl FnMut(&EventWriter, FileId) -> Result<(), WriteError>,
    ) -> Result<Result<(), WriteError>, E> {
        for _ in 0..CLOSED_RETRIES {
            let (writer, file) = pick(self)?;
            match op(&writer, file) {
                Err(WriteError::Closed) => continue,
                r => return Ok(r),
            }
        }
        Ok(Err(WriteError::Closed))
    }

    /// Waits until everything appended so far is written (see [`EventWriter::flush`]). Does
    /// nothing while closed or in a forked child; a close by another thread in between (which
    /// writes everything) is not an error.
    pub fn flush(&self) -> Result<(), WriteError> {
        let writer = match &self.lock().open {
            Some(o) if o.live() => Arc::clone(&o.writer),
            _ => return Ok(()),
        };
        match writer.flush() {
            Err(WriteError::Closed) => Ok(()),
            r => r,
        }
    }

    /// Writes everything pending and closes the event files. Idempotent; a later
    /// [`Session::main`] or [`Session::sub_run`] opens a new writer. In a forked child it
    /// leaks the parent's writer and closes nothing.
    pub fn close(&self) -> Result<(), WriteError> {
        let Some(open) = self.lock().open.take() else {
            return Ok(());
        };
        if open.writer.is_forked_copy() {
            std::mem::forget(open);
            return Ok(());
        }
        open.writer.close()
    }

    /// The path of the current main event file, or `None` while closed, in a forked child
    /// (before reopening), or when the writer discards ([`WriterOptions::discard`]).
    pub fn event_file(&self) -> Option<PathBuf> {
        self.lock()
            .open
            .as_ref()
            .filter(|o| o.live() && !o.writer.options().discard)
            .map(|o| o.main_path.clone())
    }

    /// The path of sub-run `rel`'s event file, or `None` when that sub-run has no file since
    /// the session was last (re)opened, while closed, in a forked child (before reopening), or
    /// when the writer discards.
    pub fn sub_run_file(&self, rel: &str) -> Option<PathBuf> {
        self.lock()
            .open
            .as_ref()
            .filter(|o| o.live() && !o.writer.options().discard)
            .and_then(|o| o.subs.get(rel))
            .map(|(_, path)| path.clone())
    }

    /// The sub-runs opened since the session was last (re)opened, in the order they were
    /// opened; empty while closed or in a forked child (before reopening).
    pub fn sub_runs(&self) -> Vec<String> {
        let st = self.lock();
        let Some(open) = st.open.as_ref().filter(|o| o.live()) else {
            return Vec::new();
        };
        let mut subs: Vec<(u32, &String)> = open
            .subs
            .iter()
            .map(|(rel, (id, _))| (id.raw(), rel))
            .collect();
        subs.sort_unstable();
        subs.into_iter().map(|(_, rel)| rel.clone()).collect()
    }

    /// Whether the session is closed (never opened, or closed; a later [`Session::main`]
    /// reopens it).
    pub fn is_closed(&self) -> bool {
        self.lock()
            .open
            .as_ref()
            .is_none_or(|o| o.writer.is_closed())
    }

    /// Whether this is a forked child's copy of an open session (whose writer the next call
    /// replaces). Takes `&mut self` so that it never waits for a lock: in a forked child, a
    /// lock another thread of the parent held at `fork()` stays held forever.
    pub fn is_forked_copy(&mut self) -> bool {
        self.state
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .open
            .as_ref()
            .is_some_and(|o| o.writer.is_forked_copy())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = st.open.take() {
            release(open);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::event;
    use crate::writer::tests::{read_events, scalar};
    use std::fs;

    fn config(dir: &Path, purge_step: Option<i64>) -> SessionConfig {
        SessionConfig {
            log_dir: dir.to_owned(),
            suffix: ".s".to_owned(),
            options: WriterOptions::default(),
            purge_step,
        }
    }

    /// The event files directly in `dir`, in the order they were named: by the process's file
    /// counter in their names (`...{pid}.{counter}.s`), not by name, where other tests' files
    /// can take the counter from 9 to 10 between two of ours ("10" sorts before "9").
    fn files(dir: &Path) -> Vec<PathBuf> {
        let counter = |p: &PathBuf| -> u64 {
            let name = p.file_name().unwrap().to_str().unwrap();
            let stem = name.strip_suffix(".s").unwrap();
            stem.rsplit('.').next().unwrap().parse().unwrap()
        };
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        v.sort_by_key(counter);
        v
    }

    fn append(s: &Session, rel: Option<&str>, step: i64) {
        let pick = |s: &Session| match rel {
            None => s.main(),
            Some(rel) => s.sub_run(rel),
        };
        s.with_file(pick, |w, f| w.append(f, &scalar(step)))
            .unwrap()
            .unwrap();
    }

    #[test]
    fn sub_run_dirs_as_torch_names_them_and_escapes_refused() {
        assert_eq!(sub_run_dir("loss/train", "a").unwrap(), "loss_train_a");
        // A `/` in the key makes a nested directory, still inside (torch's os.path.join).
        assert_eq!(sub_run_dir("m", "a/b").unwrap(), "m_a/b");
        assert_eq!(sub_run_dir("m", "./x").unwrap(), "m_./x");
        for key in ["../../escape", "a/../../x", "a/.."] {
            let e = sub_run_dir("m", key).unwrap_err();
            assert!(matches!(e, SubRunError::Outside { .. }), "{key}: {e:?}");
            // The words the Python bad-input table matches.
            assert!(e.to_string().contains("outside log_dir"), "{e}");
        }
        for (main, key, arg) in [
            ("m\0", "a", "main_tag"),
            ("m\\x", "a", "main_tag"),
            ("m", "a\0", "tag_scalar_dict key"),
            ("m", "..\\..\\x", "tag_scalar_dict key"),
        ] {
            match sub_run_dir(main, key) {
                Err(SubRunError::BadCharacter { arg: a, .. }) => assert_eq!(a, arg),
                r => panic!("{main:?} {key:?}: {r:?}"),
            }
        }
        let long = "k".repeat(MAX_NAME_BYTES);
        assert!(matches!(
            sub_run_dir("m", &long),
            Err(SubRunError::TooLong { .. })
        ));
        assert!(sub_run_dir("m", &long[..MAX_NAME_BYTES - 2]).is_ok());
    }

    #[test]
    fn direct_sub_run_names_must_stay_inside() {
        for ok in ["a", "a/b", "./a", "m_x"] {
            check_sub_run(ok).unwrap();
        }
        for bad in ["", "/abs", "..", "../x", "a/../../b", "a\\b", "a\0b"] {
            assert_eq!(
                check_sub_run(bad),
                Err(SubRunError::NotInside(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_refused_sub_run_creates_nothing() {
        let root = tempfile::tempdir().unwrap();
        let log_dir = root.path().join("run");
        let s = Session::new();
        s.configure(config(&log_dir, None)).unwrap();
        for bad in ["../escape", "/abs", "a/../../b"] {
            assert!(matches!(
                s.sub_run(bad),
                Err(SessionError::SubRun(SubRunError::NotInside(_)))
            ));
        }
        s.close().unwrap();
        // Only the log directory, holding only the main file.
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
        assert_eq!(fs::read_dir(&log_dir).unwrap().count(), 1);
    }

    #[test]
    fn an_unconfigured_session_gives_no_file() {
        let s = Session::new();
        assert!(matches!(s.main(), Err(SessionError::NotConfigured)));
        assert!(matches!(s.sub_run("a"), Err(SessionError::NotConfigured)));
        assert!(s.is_closed());
        s.flush().unwrap();
        s.close().unwrap();
    }

    #[test]
    fn reopens_after_close_with_a_new_main_file_and_purges_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = Session::new();
        s.configure(config(dir.path(), Some(7))).unwrap();
        let (w1, _) = s.main().unwrap();
        let first = s.event_file().unwrap();
        append(&s, None, 1);
        append(&s, Some("m_a"), 2);
        assert_eq!(s.sub_runs(), vec!["m_a".to_owned()]);
        let first_sub = s.sub_run_file("m_a").unwrap();
        assert_eq!(first_sub.parent(), Some(dir.path().join("m_a").as_path()));
        assert_eq!(s.sub_run_file("m_b"), None);
        s.flush().unwrap();
        s.close().unwrap();
        s.close().unwrap();
        s.flush().unwrap();
        assert!(s.is_closed() && w1.is_closed());
        assert_eq!(s.event_file(), None);
        assert!(s.sub_runs().is_empty());
        assert_eq!(s.sub_run_file("m_a"), None);

        // The next write opens a new writer and main file; sub-runs start again.
        append(&s, None, 3);
        let (w2, _) = s.main().unwrap();
        assert!(!Arc::ptr_eq(&w1, &w2) && !s.is_closed());
        let second = s.event_file().unwrap();
        assert_ne!(first, second);
        assert!(s.sub_runs().is_empty());
        append(&s, Some("m_a"), 4);
        s.close().unwrap();

        assert_eq!(files(dir.path()), vec![first.clone(), second.clone()]);
        let a = read_events(&first);
        // Header, the two purge events at step 7, the scalar.
        assert_eq!(a.len(), 4);
        assert!(matches!(&a[1].what, Some(event::What::FileVersion(_))) && a[1].step == 7);
        assert!(matches!(&a[2].what, Some(event::What::SessionLog(_))) && a[2].step == 7);
        assert_eq!(a[3].step, 1);
        // No purge in the reopened file.
        let b = read_events(&second);
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].step, 3);
        let subs = files(&dir.path().join("m_a"));
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0], first_sub);
        let sub_steps: Vec<i64> = subs.iter().map(|p| read_events(p)[1].step).collect();
        assert_eq!(sub_steps, vec![2, 4]);
    }

    #[test]
    fn an_append_racing_a_close_lands_in_the_reopened_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = Session::new();
        s.configure(config(dir.path(), None)).unwrap();
        let first = s.event_file().unwrap();
        let mut picks = 0;
        // Another thread's close() between taking the writer and appending to it.
        let pick = |s: &Session| {
            picks += 1;
            let got = s.main();
            if picks == 1 {
                s.close().unwrap();
            }
            got
        };
        let r: Result<_, SessionError> = s.with_file(pick, |w, f| w.append(f, &scalar(5)));
        r.unwrap().unwrap();
        assert_eq!(picks, 2);
        let second = s.event_file().unwrap();
        s.close().unwrap();
        assert_eq!(read_events(&first).len(), 1);
        assert_eq!(read_events(&second)[1].step, 5);
    }

    #[test]
    fn discarding_session_names_no_file() {
        let root = tempfile::tempdir().unwrap();
        let s = Session::new();
        let mut c = config(&root.path().join("run"), Some(1));
        c.options.discard = true;
        s.configure(c).unwrap();
        append(&s, None, 1);
        append(&s, Some("m_a"), 1);
        assert_eq!(s.event_file(), None);
        assert!(!s.is_closed());
        assert_eq!(s.sub_runs(), vec!["m_a".to_owned()]);
        s.close().unwrap();
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
    }

    /// A forked child's copy leaves the parent's writer alone and writes to a fresh file
    /// carrying its own pid; the parent's session goes on in its own file. The fork happens in
    /// a re-run of this test alone (one thread), so no other test's thread holds a lock in the
    /// child and the child holds no other test's files.
    #[cfg(unix)]
    #[test]
    fn a_forked_child_writes_a_fresh_file() {
        crate::test_process::alone(
            "writer::session::tests::a_forked_child_writes_a_fresh_file",
            || {
                let tmp = tempfile::tempdir().unwrap();
                let dir = tmp.path();
                let mut s = Session::new();
                s.configure(config(dir, None)).unwrap();
                append(&s, None, 1);
                s.flush().unwrap();
                let parent_file = s.event_file().unwrap();
                // The writer's thread holds no lock the child needs (glibc's malloc is fork-safe).
                let child = crate::test_process::fork(|| {
                    assert!(s.is_forked_copy());
                    assert_eq!(s.event_file(), None);
                    // Flush and close leave the parent's writer alone.
                    s.flush().unwrap();
                    s.close().unwrap();
                    append(&s, None, 2);
                    let mine = s.event_file().unwrap();
                    assert_ne!(mine, parent_file);
                    let pid = std::process::id().to_string();
                    let name = mine.file_name().unwrap().to_string_lossy().into_owned();
                    assert!(name.split('.').any(|part| part == pid), "{name}");
                    s.close().unwrap();
                    let steps: Vec<i64> = read_events(&mine).iter().map(|e| e.step).collect();
                    assert_eq!(steps, vec![0, 2]);
                });
                crate::test_process::wait_ok(child);
                assert!(!s.is_forked_copy());
                append(&s, None, 3);
                s.close().unwrap();
                let steps: Vec<i64> = read_events(&parent_file).iter().map(|e| e.step).collect();
                assert_eq!(steps, vec![0, 1, 3]);
                assert_eq!(files(dir).len(), 2);
            },
        );
    }
}
