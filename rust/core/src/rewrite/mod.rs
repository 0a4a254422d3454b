//! Log surgery: rewriting a logdir's event files by rules, streamed, in place or into a new
//! directory.
//!
//! * `glob`: tag and run patterns (Python's `fnmatch` rules).
//! * `filter`: the streaming filter of one *unit* (a run, or the runs merged into one): records
//!   in, kept records out, per-tag counts of what was removed; memory grows with tags, never
//!   with records (see its module doc for the passes).
//! * `swap`: the in-place commit (stage, verify, back up, journal, swap) and the recovery
//!   of an interrupted one.
//! * `exchange`: swapping a directory whole (`renameat2(RENAME_EXCHANGE)`): staging its new
//!   tree, the exchange, retiring the old tree.
//! * `logdir`: the logdir-wide swap (every unit at once, by exchanging the logdir itself) and
//!   its recovery.
//! * `cwd`: telling the processes that stand inside the logdir or a run (their working
//!   directory).
//! * `live`: telling a run that is still being written.
//!
//! # Rules
//!
//! Run rules (`keep_runs`, `drop_runs`) pick whole runs; `merge_runs` makes one run (one event
//! file, named after the first source file, holding the sources' records in reading order and
//! the first `file_version` header) of several. Record rules act on each summary value, in
//! this order: tags (`keep_tags`, `drop_tags`), steps (`lo <= step < hi`), restarts
//! (TensorBoard's rule, [`crate::reader::restart_mask`]), then the limits on what survived:
//! the last `max_media_per_tag` images/audio of a tag, every `every`-th scalar of a tag and
//! then at most `max_points_per_tag` evenly spaced ones (first and last always kept). The
//! step, restart and limit rules leave the hparams and graph plugins' values alone; records
//! that are not summaries (`file_version`, graphs, session logs) are always kept, except a
//! tagged run metadata of a dropped tag. When the first value of a tag that carried the
//! plugin metadata is dropped, the metadata moves onto the tag's first kept value
//! (TensorBoard reads a tag's plugin from its first value). A corrupt record (payload CRC),
//! a record that is not an `Event`, a corrupt length (the rest of that file) and an
//! incomplete last record are left out and reported in [`RunReport::damage`].
//!
//! # Safety of an in-place rewrite
//!
//! Everything happens under `LOGDIR/.ferroboard-rewrite/`, one unit at a time (but for the
//! logdir-wide swap below), while holding an exclusive lock on
//! `LOGDIR/.ferroboard-rewrite/lock`. A unit is swapped in *whole* (its run directory
//! exchanged with a staged copy in one system call) where it can be, else *file by file*:
//!
//! 1. the unit's new files are written to `unit-N/stage/`, given their old files'
//!    permissions and modification times, synced, and read back (every CRC, the record count
//!    and the size must be what was written);
//! 2. the old files are hard-linked (copied where links fail) into `unit-N/backup/`;
//! 3. whole: the run directory's new tree is staged as `unit-N/tree/` (module `exchange`): the
//!    same directories with the same modes and owners, every other file hard-linked (the run's
//!    other files, its nested runs' trees: torch's `add_scalars` sub-runs live inside the run
//!    that wrote them), its symbolic links recreated, and the new files moved in; every event
//!    file there waits under a hidden name (`.ferroboard-staged-K`: no walker, TensorBoard's
//!    or ours, takes it for a run), and the tree is synced;
//! 4. `unit-N/journal` is written (to a temporary name, synced, renamed): from here on the
//!    rewrite is committed. A whole journal (version 2) names the run directory, the staged
//!    tree and its inode, and the hidden names;
//! 5. whole: the hidden names become the final ones (inside the staged tree, which nobody
//!    reads), the staged directories get their modes, then `renameat2(tree, run,
//!    RENAME_EXCHANGE)` puts the new tree at the run's path and the old one at `unit-N/tree`
//!    in one step, and the run's parent is synced. The old tree is then retired: its entries
//!    are links to what the new tree holds, the run's old event files and old directories, and
//!    go; an entry the new tree lacks arrived after the staging (a live writer's new file,
//!    with `force`) and is moved into the new tree instead.
//!    File by file: each staged file is renamed over its final name (one `rename` per file) and
//!    the old files that have no new counterpart are removed;
//! 6. the journal is removed, then `unit-N/` with its backup.
//!
//! A unit goes file by file when it spans more than one run directory (the logdir's own run,
//! merged runs) and the logdir-wide swap below is not done, when its tree holds something
//! that cannot be mirrored by links (a FIFO or socket, a file that cannot be hard-linked, a
//! directory whose owner the user cannot give, another filesystem mounted in it), when
//! another process has its working directory (or root) in the run's directory (module `cwd`:
//! it would be left in the old tree, which is deleted; this process, if it stands there,
//! changes to the same path in the new tree), and when the system refuses the exchange
//! (`EINVAL`, `ENOSYS`, `EXDEV`...: another OS, an old kernel, a filesystem without it, or
//! `FERROBOARD_REWRITE_EXCHANGE=0`). The refusal comes after the commit: the journal is then
//! replaced (one rename) by its per-file form, which is finished at once. When the refusal is
//! the system's (`EINVAL`, `ENOSYS`: no exchange anywhere) rather than the run's (`EXDEV`,
//! `EACCES`...), the later units of the rewrite go file by file without trying.
//!
//! Killed before step 4, the run is untouched: the next rewrite of the logdir deletes
//! `unit-N/`. Killed after it, the journal is there, and the next rewrite (`ferroboard rewrite
//! LOGDIR` with no rules does only that) finishes steps 5 and 6 first: they are idempotent.
//! Whether a whole unit's exchange happened is told by the run directory's inode (the staged
//! tree's once exchanged), so recovery never exchanges twice. A run swapped whole is the old
//! or the new one at every moment, journal or not, for a reader that resolves the run's path
//! once (opens the directory and reads relative to it) or checks that the path still names the
//! directory it read; a run swapped file by file may be part old, part new while its journal
//! exists.
//!
//! # The logdir-wide swap
//!
//! Two kinds of unit span more than their own directory: the logdir's own run (its event
//! files sit in the logdir, beside the other runs and the work directory) and runs merged
//! into one (several directories). When the plan holds one whose per-file swap would take more
//! than one step (a rename or a removal; a single file is one rename, whole already), every
//! unit of the rewrite is swapped in at once by exchanging the logdir itself (module
//! `logdir`):
//!
//! * L0. every unit's new files are staged and read back (step 1), nothing else;
//! * L1. the logdir's whole new tree is staged beside it, as
//!   `PARENT/.ferroboard-rewrite-NAME/tree/` (the container): the mirror of step 3 for the
//!   whole logdir, the units' new files hard-linked in (they stay in `unit-N/stage/` too),
//!   their old event files left out (a merged-away run keeps its directory, as file by file),
//!   the work directory left out but for the lock, hard-linked (an `flock` is on the file: it
//!   keeps excluding another rewrite after the exchange), and synced;
//! * L2. `PARENT/.ferroboard-rewrite-NAME/journal` is written (temporary name, synced,
//!   renamed): the staged tree's (device, inode), the hidden names, the directory modes, the
//!   old event files;
//! * L3. the hidden names become the final ones, then `renameat2(tree, LOGDIR,
//!   RENAME_EXCHANGE)`: the commit. Every run switches at that instant. The parent is synced;
//!   this process, if its working directory was inside the logdir, changes to the same path
//!   (a Python caller that changed into the logdir keeps a valid one; any other process there
//!   prevents the logdir-wide swap, below);
//! * L4. the old tree (now in the container) is retired as in step 5 (links and old
//!   directories go, the units' old event files and the old work directory go, what arrived
//!   after the staging moves into the new tree);
//! * L5. the container is removed.
//!
//! Killed before L3, nothing changed: the next rewrite deletes the container and the
//! uncommitted units. Killed after, the logdir is the new tree, and the next rewrite finishes
//! L4 and L5. Which of the two is told by the logdir's inode (the journal's once exchanged);
//! either way the container's tree is the one to retire or delete. The logdir-wide swap is not
//! done, and each unit goes its own way as above (the logdir's own run and merges file by
//! file, saying why), when: exchanges are turned off (`FERROBOARD_REWRITE_EXCHANGE=0`) or
//! there are none (not Linux; refused by the system at L3, after which the container is
//! deleted), the logdir is a mount point or the filesystem's root, its parent is not writable
//! (or the container cannot be made there, or a directory of its name holds anything a
//! rewrite does not put there: another program's, which recovery leaves alone too), its tree
//! cannot be mirrored, or another process
//! has its working directory (or root) inside the logdir: that process would be left in the
//! old tree, which is deleted (a TensorBoard started from inside the logdir with a relative
//! `--logdir` would serve an empty logdir from then on). [`RunReport::swap`] says
//! `logdir-exchange` for the units swapped so.

mod cwd;
mod exchange;
mod filter;
pub mod glob;
mod live;
mod logdir;
mod swap;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::reader::discovery::{self, EventFile};
use filter::{Filter, Rules};
use glob::{any_match, Glob};

/// The directory, inside the logdir, of an in-place rewrite's staging, backups and journals.
pub const WORK_DIR: &str = crate::reader::discovery::REWRITE_WORK_DIR;

/// What to rewrite and how.
#[derive(Debug, Clone)]
pub struct RewriteOptions {
    /// Keep only the tags matching one of these globs (`None`: all).
    pub keep_tags: Option<Vec<String>>,
    /// Drop the tags matching one of these globs.
    pub drop_tags: Vec<String>,
    /// Keep only the runs matching one of these globs (`None`: all).
    pub keep_runs: Option<Vec<String>>,
    /// Drop the runs matching one of these globs.
    pub drop_runs: Vec<String>,
    /// Keep the values with `lo <= step < hi`.
    pub steps: Option<(i64, i64)>,
    /// Drop what a later restart superseded (TensorBoard's rule).
    pub apply_restarts: bool,
    /// Keep the last N images / audio clips of each tag.
    pub max_media_per_tag: Option<u64>,
    /// Keep at most N scalars per tag, evenly spaced, first and last included (N >= 2).
    pub max_points_per_tag: Option<u64>,
    /// Keep every k-th scalar of each tag, and the last.
    pub every: Option<u64>,
    /// `(target run, globs)`: the runs matching the globs (and the target, if it exists)
    /// become one run named `target`.
    pub merge_runs: Vec<(String, Vec<String>)>,
    /// Only report what would change.
    pub dry_run: bool,
    /// Rewrite runs that look like they are still being written.
    pub force: bool,
    /// A run whose event file was modified within this long is still being written.
    pub live_window: Duration,
}

impl Default for RewriteOptions {
    fn default() -> Self {
        RewriteOptions {
            keep_tags: None,
            drop_tags: Vec::new(),
            keep_runs: None,
            drop_runs: Vec::new(),
            steps: None,
            apply_restarts: false,
            max_media_per_tag: None,
            max_points_per_tag: None,
            every: None,
            merge_runs: Vec::new(),
            dry_run: false,
            force: false,
            live_window: Duration::from_secs(5),
        }
    }
}

/// What happened to one tag of a run (pseudo-tags in `<>` for records that are not summary
/// values: `<file_version>`, `<graph>`, `<session_log>`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagChange {
    /// The tag.
    pub tag: String,
    /// Values kept.
    pub records_kept: u64,
    /// Values removed.
    pub records_removed: u64,
    /// Bytes of the files they took.
    pub bytes_removed: u64,
    /// The plugin metadata of a dropped first value moved onto the first kept one.
    pub metadata_moved: bool,
}

/// A damaged record, left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The file.
    pub path: PathBuf,
    /// Byte offset of the record.
    pub offset: u64,
    /// What is wrong, and what was left out.
    pub what: String,
}

/// What happened to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAction {
    /// Its files were rewritten (or, in a dry run, would be).
    Rewritten,
    /// Nothing in it changes: left as it is (copied, with a destination).
    Unchanged,
    /// Dropped by a run rule.
    Dropped,
}

impl RunAction {
    /// `rewritten`, `unchanged` or `dropped`.
    pub fn name(self) -> &'static str {
        match self {
            RunAction::Rewritten => "rewritten",
            RunAction::Unchanged => "unchanged",
            RunAction::Dropped => "dropped",
        }
    }
}

/// The outcome for one output run (or one dropped run).
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run (the merge target for merged runs).
    pub run: String,
    /// The runs it was made of (itself, unless merged).
    pub sources: Vec<String>,
    /// What happened.
    pub action: RunAction,
    /// Files read.
    pub files_in: Vec<PathBuf>,
    /// Files written (or that would be).
    pub files_out: Vec<PathBuf>,
    /// Bytes and records read and written.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Records read.
    pub records_in: u64,
    /// Records written.
    pub records_out: u64,
    /// Per tag, in first-seen order.
    pub tags: Vec<TagChange>,
    /// Damaged records left out.
    pub damage: Vec<Damage>,
    /// Why the run looks live (reported in dry runs and with `force`).
    pub live: Option<String>,
    /// How an in-place rewrite swapped it in: `exchange` (the whole run directory in one
    /// step), `logdir-exchange` (the whole logdir in one step, every run of the rewrite at
    /// once) or `per-file: <why not whole>`; `None` when nothing was swapped.
    pub swap: Option<String>,
}

/// The outcome of a rewrite.
#[derive(Debug, Clone, Default)]
pub struct RewriteReport {
    /// Per output run, in reading order.
    pub runs: Vec<RunReport>,
    /// Interrupted in-place rewrites finished first (the unit directories' journals).
    pub recovered: Vec<PathBuf>,
}

/// Why a rewrite did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// An I/O failure (the message names the file).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A run looks like it is still being written.
    #[error("run {run:?} is still being written ({why}: {path}); pass force to rewrite it anyway")]
    Live {
        /// The run.
        run: String,
        /// The file.
        path: PathBuf,
        /// Why it looks live.
        why: String,
    },
    /// Another rewrite holds the logdir's lock.
    #[error("another rewrite of {0} is running (it holds {0}/.ferroboard-rewrite/lock)")]
    Busy(PathBuf),
    /// Bad arguments (destination inside the source, an existing non-empty destination...).
    #[error("{0}")]
    Invalid(String),
}

/// One output run and where its records come from.
#[derive(Debug, Clone)]
struct Unit {
    run: String,
    sources: Vec<String>,
    inputs: Vec<PathBuf>,
    /// Final paths of the outputs.
    outputs: Vec<PathBuf>,
    /// Output index of each input.
    output_of: Vec<usize>,
    drop_all: bool,
    merged: bool,
    /// The source run directories (for copying other files to a destination).
    dirs: Vec<PathBuf>,
}

fn run_dir(root: &Path, run: &str) -> PathBuf {
    if run == "." {
        root.to_path_buf()
    } else {
        root.join(run)
    }
}

fn globs(v: &[String]) -> Vec<Glob> {
    v.iter().map(|g| Glob::new(g)).collect()
}

/// The units of `files` under the options: `(root, units)`, root being the logdir (the file's
/// directory when `src` is one file).
fn plan(src: &Path, dst: Option<&Path>, files: Vec<EventFile>, opts: &RewriteOptions) -> Vec<Unit> {
    let root = if src.is_file() {
        src.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        src.to_path_buf()
    };
    let out_root = dst.unwrap_or(&root);
    // Runs in first-seen order, each with its files in reading order.
    let mut order: Vec<String> = Vec::new();
    let mut by_run: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for f in files {
        if f.path
            .components()
            .any(|c| discovery::is_rewrite_dir(&c.as_os_str().to_string_lossy()))
        {
            continue;
        }
        by_run
            .entry(f.run.clone())
            .or_insert_with(|| {
                order.push(f.run.clone());
                Vec::new()
            })
            .push(f.path);
    }
    let keep = opts.keep_runs.as_deref().map(globs);
    let drop = globs(&opts.drop_runs);
    let wanted =
        |run: &str| keep.as_ref().is_none_or(|k| any_match(k, run)) && !any_match(&drop, run);
    let merges: Vec<(String, Vec<Glob>)> = opts
        .merge_runs
        .iter()
        .map(|(t, g)| (t.clone(), globs(g)))
        .collect();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for run in &order {
        if !wanted(run) {
            continue;
        }
        if let Some(g) = merges
            .iter()
            .position(|(t, gl)| t == run || any_match(gl, run))
        {
            group_of.insert(run.clone(), g);
        }
    }
    let name_in = |dir: &Path, input: &Path| dir.join(input.file_name().unwrap_or_default());
    let mut units = Vec::new();
    let mut done_groups = vec![false; merges.len()];
    for run in &order {
        let inputs = by_run[run].clone();
        if !wanted(run) {
            units.push(Unit {
                run: run.clone(),
                sources: vec![run.clone()],
                output_of: vec![0; inputs.len()],
                inputs,
                outputs: Vec::new(),
                drop_all: true,
                merged: false,
                dirs: vec![run_dir(&root, run)],
            });
            continue;
        }
        match group_of.get(run) {
            Some(&g) => {
                if done_groups[g] {
                    continue;
                }
                done_groups[g] = true;
                let sources: Vec<String> = order
                    .iter()
                    .filter(|r| group_of.get(*r) == Some(&g))
                    .cloned()
                    .collect();
                let inputs: Vec<PathBuf> = sources.iter().flat_map(|r| by_run[r].clone()).collect();
                let target = &merges[g].0;
                units.push(Unit {
                    run: target.clone(),
                    output_of: vec![0; inputs.len()],
                    outputs: vec![name_in(&run_dir(out_root, target), &inputs[0])],
                    dirs: sources.iter().map(|r| run_dir(&root, r)).collect(),
                    sources,
                    inputs,
                    drop_all: false,
                    merged: true,
                });
            }
            None => {
                let dir = run_dir(out_root, run);
                units.push(Unit {
                    run: run.clone(),
                    sources: vec![run.clone()],
                    output_of: (0..inputs.len()).collect(),
                    outputs: inputs.iter().map(|p| name_in(&dir, p)).collect(),
                    inputs,
                    drop_all: false,
                    merged: false,
                    dirs: vec![run_dir(&root, run)],
                });
            }
        }
    }
    units
}

fn rules(opts: &RewriteOptions) -> Rules {
    Rules {
        keep_tags: opts.keep_tags.as_deref().map(globs),
        drop_tags: globs(&opts.drop_tags),
        steps: opts.steps,
        restarts: opts.apply_restarts,
        max_media: opts.max_media_per_tag,
        max_points: opts.max_points_per_tag,
        every: opts.every,
    }
}

fn check_options(opts: &RewriteOptions) -> Result<(), RewriteError> {
    let bad = |s: String| Err(RewriteError::Invalid(s));
    if let Some((lo, hi)) = opts.steps {
        if lo > hi {
            return bad(format!(
                "steps: expected (lo, hi) with lo <= hi, got ({lo}, {hi})"
            ));
        }
    }
    if opts.max_points_per_tag.is_some_and(|n| n < 2) {
        return bad(
            "max_points_per_tag: expected an integer >= 2 (first and last are kept)".into(),
        );
    }
    if opts.max_media_per_tag == Some(0) {
        return bad(
            "max_media_per_tag: expected an integer >= 1 (use drop_tags to drop all)".into(),
        );
    }
    if opts.every == Some(0) {
        return bad("every: expected an integer >= 1".into());
    }
    for (t, _) in &opts.merge_runs {
        if t.is_empty() || t.split('/').any(|c| c == ".." || c.is_empty()) && t != "." {
            return bad(format!("merge_runs: {t:?} is not a run name"));
        }
    }
    Ok(())
}

/// `files` less those reached through a link to a directory: the reader follows such links,
/// as TensorBoard does, but a rewrite swapping the link's path would leave a copy in its place.
fn not_through_dir_links(src: &Path, files: Vec<EventFile>) -> Vec<EventFile> {
    let mut linked: HashMap<String, bool> = HashMap::new();
    files
        .into_iter()
        .filter(|f| {
            if f.run == "." {
                return true;
            }
            let through = *linked.entry(f.run.clone()).or_insert_with(|| {
                let mut p = src.to_path_buf();
                f.run.split('/').any(|part| {
                    p.push(part);
                    fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink())
                })
            });
            !through
        })
        .collect()
}

/// Rewrites `src` (a logdir or one event file) by `opts`: into `dst` (which must not exist or
/// be empty, and not be inside `src`), or in place when `dst` is `None` (see the module doc).
pub fn rewrite(
    src: &Path,
    dst: Option<&Path>,
    opts: &RewriteOptions,
) -> Result<RewriteReport, RewriteError> {
    check_options(opts)?;
    let meta = fs::metadata(src).map_err(|e| filter::named(e, src))?;
    let root = if meta.is_file() {
        src.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        src.to_path_buf()
    };
    if let Some(d) = dst {
        check_destination(&root, d)?;
    }
    let mut report = RewriteReport::default();
    // An interrupted in-place rewrite is finished before anything reads the source (also for
    // a rewrite into a destination: a committed journal means the run is mid-swap).
    let pending = root.join(WORK_DIR).is_dir() || logdir::leftover(&root);
    let lock = if !opts.dry_run && (dst.is_none() || pending) {
        let lock = swap::Lock::take(&root)?;
        report.recovered.extend(logdir::recover(&root)?);
        report.recovered.extend(swap::recover(&root)?);
        Some(lock)
    } else {
        None
    };
    let files = discovery::discover(src).map_err(|e| filter::named(e, src))?;
    let files = not_through_dir_links(src, files);
    let units = plan(src, dst, files, opts);
    let rules = rules(opts);
    let mut open = live::OpenFiles::default();
    let mut lives = Vec::with_capacity(units.len());
    for u in &units {
        let why = u
            .inputs
            .iter()
            .find_map(|p| live::why_live(p, opts.live_window, &mut open).map(|w| (p.clone(), w)));
        if let Some((path, why)) = &why {
            if !opts.force && !opts.dry_run {
                return Err(RewriteError::Live {
                    run: u.run.clone(),
                    path: path.clone(),
                    why: why.clone(),
                });
            }
        }
        lives.push(why.map(|w| w.1));
    }
    if opts.dry_run || dst.is_some() {
        for u in &units {
            report.runs.push(match dst {
                Some(d) if !opts.dry_run => rewrite_to(u, &rules, d)?,
                _ => {
                    let out = Filter::new(&rules, u.drop_all, u.merged, u.outputs.len()).run(
                        &u.inputs,
                        &u.output_of,
                        None,
                    )?;
                    run_report(u, out)
                }
            });
        }
    } else {
        report.runs = in_place(&root, &units, &rules)?;
    }
    for (r, live) in report.runs.iter_mut().zip(lives) {
        r.live = live;
    }
    if lock.is_some() {
        swap::finish(&root)?;
    }
    Ok(report)
}

/// The in-place swap of every unit (module doc): the whole logdir at once where the plan holds
/// a unit that spans more than its run directory and the logdir can be exchanged, else unit by
/// unit.
fn in_place(root: &Path, units: &[Unit], rules: &Rules) -> Result<Vec<RunReport>, RewriteError> {
    let mut no_exchange = None;
    let place = units.iter().any(swap::wide).then(|| logdir::place(root));
    let place = match place {
        Some(Ok(place)) => place,
        other => {
            let why = other.and_then(Result::err);
            let mut out = Vec::with_capacity(units.len());
            for (k, u) in units.iter().enumerate() {
                out.push(match swap::stage_unit(root, k, u, rules)? {
                    Ok(s) => swap::commit_unit(root, u, s, &mut no_exchange, why.as_deref())?,
                    Err(unchanged) => unchanged,
                });
            }
            return Ok(out);
        }
    };
    let mut staged = Vec::with_capacity(units.len());
    for (k, u) in units.iter().enumerate() {
        staged.push(swap::stage_unit(root, k, u, rules)?);
    }
    let mut why = None;
    if units
        .iter()
        .zip(&staged)
        .any(|(u, s)| s.is_ok() && swap::wide(u))
    {
        let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).to_path_buf();
        let mut outputs = Vec::new();
        let mut own = HashSet::new();
        for (u, s) in units.iter().zip(&staged) {
            if let Ok(s) = s {
                outputs.extend(
                    s.files
                        .iter()
                        .cloned()
                        .zip(u.outputs.iter().map(|o| rel(o))),
                );
                own.extend(u.inputs.iter().map(|p| rel(p)));
            }
        }
        match logdir::swap_in(&place, &outputs, &own)? {
            Ok(()) => {
                return Ok(staged
                    .into_iter()
                    .map(|s| match s {
                        Ok(s) => RunReport {
                            swap: Some("logdir-exchange".to_owned()),
                            ..s.report
                        },
                        Err(unchanged) => unchanged,
                    })
                    .collect());
            }
            Err(not) => {
                if not.system {
                    no_exchange = Some(not.why.clone());
                }
                why = Some(not.why);
            }
        }
    }
    let mut out = Vec::with_capacity(units.len());
    for (u, s) in units.iter().zip(staged) {
        out.push(match s {
            Ok(s) => swap::commit_unit(root, u, s, &mut no_exchange, why.as_deref())?,
            Err(unchanged) => unchanged,
        });
    }
    Ok(out)
}

fn check_destination(root: &Path, dst: &Path) -> Result<(), RewriteError> {
    if dst.exists() {
        let empty = fs::read_dir(dst)
            .map_err(|e| filter::named(e, dst))?
            .next()
            .is_none();
        if !empty {
            return Err(RewriteError::Invalid(format!(
                "dst: {} exists and is not empty",
                dst.display()
            )));
        }
    }
    let abs = |p: &Path| -> PathBuf {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        // The deepest existing ancestor, canonical, with the rest appended.
        let mut head = p.clone();
        let mut tail = Vec::new();
        while !head.exists() {
            match (head.file_name().map(|n| n.to_owned()), head.parent()) {
                (Some(n), Some(parent)) => {
                    tail.push(n);
                    head = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut out = fs::canonicalize(&head).unwrap_or(head);
        for n in tail.into_iter().rev() {
            out.push(n);
        }
        out
    };
    let (r, d) = (abs(root), abs(dst));
    if d.starts_with(&r) || r.starts_with(&d) {
        return Err(RewriteError::Invalid(format!(
            "dst: {} must not be inside the source {} (or hold it)",
            dst.display(),
            root.display()
        )));
    }
    Ok(())
}

fn run_report(u: &Unit, out: filter::Outcome) -> RunReport {
    let changed = out.changed || u.merged && u.inputs.len() > 1;
    RunReport {
        run: u.run.clone(),
        sources: u.sources.clone(),
        action: if u.drop_all {
            RunAction::Dropped
        } else if changed {
            RunAction::Rewritten
        } else {
            RunAction::Unchanged
        },
        files_in: u.inputs.clone(),
        files_out: u.outputs.clone(),
        bytes_in: out.bytes_in,
        bytes_out: out.out_bytes.iter().sum(),
        records_in: out.records_in,
        records_out: out.records_out,
        tags: out.tags,
        damage: out.damage,
        live: None,
        swap: None,
    }
}

type Sinks<'a> = Vec<Box<dyn Write + 'a>>;

fn create_sinks(paths: &[PathBuf]) -> io::Result<(Vec<fs::File>, Sinks<'static>)> {
    let mut files = Vec::new();
    let mut sinks: Sinks<'static> = Vec::new();
    for p in paths {
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| filter::named(e, parent))?;
        }
        let f = fs::File::create(p).map_err(|e| filter::named(e, p))?;
        files.push(f.try_clone()?);
        sinks.push(Box::new(BufWriter::with_capacity(1 << 20, f)));
    }
    Ok((files, sinks))
}

fn flush(sinks: Sinks<'_>) -> io::Result<()> {
    for mut s in sinks {
        s.flush()?;
    }
    Ok(())
}

/// Gives each output the modification time of the newest input it was made from: a
/// rewritten run does not look freshly written (nor live to the next rewrite).
fn keep_mtimes(u: &Unit, files: &[fs::File]) -> io::Result<()> {
    for (o, f) in files.iter().enumerate() {
        let newest = u
            .inputs
            .iter()
            .zip(&u.output_of)
            .filter(|(_, &oi)| oi == o)
            .filter_map(|(p, _)| fs::metadata(p).and_then(|m| m.modified()).ok())
            .max();
        if let Some(t) = newest {
            f.set_modified(t)?;
        }
    }
    Ok(())
}

/// Writes one unit into the destination directory.
fn rewrite_to(u: &Unit, rules: &Rules, _dst: &Path) -> Result<RunReport, RewriteError> {
    let filter = Filter::new(rules, u.drop_all, u.merged, u.outputs.len());
    let (files, mut sinks) = create_sinks(&u.outputs)?;
    let out = filter.run(&u.inputs, &u.output_of, Some(&mut sinks))?;
    flush(sinks)?;
    keep_mtimes(u, &files)?;
    for (i, p) in u.outputs.iter().enumerate() {
        filter::verify(p, out.out_records[i], out.out_bytes[i])?;
    }
    // Other files of a run directory (projector configs...) come along, unless merged.
    if !u.merged && !u.drop_all {
        if let (Some(dir), Some(first)) = (u.dirs.first(), u.outputs.first()) {
            let out_dir = first.parent().unwrap_or(Path::new("."));
            copy_other_files(dir, out_dir)?;
        }
    }
    Ok(run_report(u, out))
}

fn copy_other_files(dir: &Path, out_dir: &Path) -> io::Result<()> {
    for e in fs::read_dir(dir).map_err(|e| filter::named(e, dir))? {
        let e = e?;
        let name = e.file_name();
        let s = name.to_string_lossy();
        if discovery::is_event_file_name(&s) || s == WORK_DIR || !e.file_type()?.is_file() {
            continue;
        }
        let to = out_dir.join(&name);
        if !to.exists() {
            fs::copy(e.path(), &to).map_err(|err| filter::named(err, &e.path()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
