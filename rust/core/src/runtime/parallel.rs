//! The thread pool for data-parallel work (reading logdirs, large histograms and PR curves),
//! safe to use again in a `fork()`ed child.
//!
//! A child process inherits a copy of rayon's global pool but none of its threads, so work
//! handed to it there waits forever (a `multiprocessing` worker forked after the parent read
//! a logdir would hang on its first read). [`install`] runs work on a pool that belongs to the
//! current fork generation ([`crate::runtime::fork::generation`]) and builds a fresh one the
//! first time it is needed in a child; the parent's copy is left alone (its threads do not
//! exist there).
//!
//! [`map_shared`] runs indexed work on that pool with the calling thread taking part, for
//! calls made from a training loop's thread (large histograms, PR curves), where handing all
//! the work over and sleeping costs two wake-ups per call.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::runtime::fork;

/// A pool and the fork generation that built it.
struct Entry {
    generation: u64,
    pool: rayon::ThreadPool,
}

/// The current entry; published entries are never freed (one per fork generation at most).
static CURRENT: AtomicPtr<Entry> = AtomicPtr::new(std::ptr::null_mut());

/// Runs `f` on this process's pool (or, called from inside a rayon pool, on that one).
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    match pool() {
        Some(pool) => pool.install(f),
        // No thread could be started: rayon's global pool is all there is.
        None => f(),
    }
}

/// The number of threads of the pool [`install`] and [`map_shared`] use.
pub fn threads() -> usize {
    if rayon::current_thread_index().is_some() {
        return rayon::current_num_threads();
    }
    pool().map_or(1, rayon::ThreadPool::current_num_threads)
}

/// `f(state, 0)`, ..., `f(state, n - 1)` in index order, computed by the calling thread
/// together with the pool's threads, each taking the next index as soon as it is free; each
/// helper job that takes an index makes one `state` with `init` for all it takes (counters,
/// buffers), and the states come back too, in no particular order (one per participating
/// thread, unless `f` itself waits on the pool and its thread takes a second helper job).
///
/// Why not `install` and a parallel iterator: a thread outside the pool that hands it work
/// sleeps until the work is done, so one call pays two wake-ups in sequence (a pool thread's,
/// then its own) and the work starts only after the first. In a virtual machine a wake-up
/// takes tens of microseconds (an interrupt between virtual CPUs), a tenth of a large
/// histogram. Here the caller starts at once, helpers join when they wake (a late helper
/// only takes fewer indices), and the caller, done with its share, waits for the helpers it
/// spawned by spinning before the scope's own wait, which sleeps: for one at work (finishing
/// its last index) up to `SPIN_LIMIT`, for one still queued (which will start, see there is
/// nothing left and end) up to `QUEUED_SPIN_LIMIT`, about a wake-up's time: longer, it is
/// queued behind other work (several threads computing at once), and spinning would only
/// take a core from that work. A panic in `f` reaches the caller once the other threads have
/// finished the indices left.
pub fn map_shared<S: Send, R: Send>(
    n: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize) -> R + Sync,
) -> (Vec<R>, Vec<S>) {
    let next = AtomicUsize::new(0);
    let out: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let states = Mutex::new(Vec::new());
    let helpers = Helpers::default();
    let take = || {
        let mut state = None;
        loop {
            let i = next.fetch_add(1, Ordering::AcqRel);
            if i >= n {
                break;
            }
            let r = f(state.get_or_insert_with(&init), i);
            *lock(&out[i]) = Some(r);
        }
        if let Some(state) = state {
            lock(&states).push(state);
        }
    };
    let helper = || {
        // Counted out when the helper ends, by a panic too (the caller would spin on).
        struct Done<'a>(&'a AtomicUsize);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        // Counted at work before no longer queued: the caller never sees both counts at zero
        // while a helper lives.
        helpers.running.fetch_add(1, Ordering::AcqRel);
        helpers.queued.fetch_sub(1, Ordering::AcqRel);
        let _done = Done(&helpers.running);
        take();
    };
    if n <= 1 {
        take();
    } else if rayon::current_thread_index().is_some() {
        // Inside a pool (whose waiting threads steal work): that pool's threads.
        let threads = rayon::current_num_threads().min(n);
        rayon::in_place_scope(|scope| share(scope, threads, &helper, &take, &helpers));
    } else if let Some(pool) = pool() {
        let threads = pool.current_num_threads().min(n);
        pool.in_place_scope(|scope| share(scope, threads, &helper, &take, &helpers));
    } else {
        take();
    }
    let results = out
        .into_iter()
        .map(|r| into_inner(r).expect("every index was taken"))
        .collect();
    (results, into_inner(states))
}

/// The helpers [`map_shared`] spawned: still queued, and at work.
#[derive(Default)]
struct Helpers {
    queued: AtomicUsize,
    running: AtomicUsize,
}

/// [`map_shared`]'s work in `scope`: `threads - 1` helpers spawned, the caller's share, then
/// the wait for the helpers (see [`map_shared`] for the spinning).
fn share<'s>(
    scope: &rayon::Scope<'s>,
    threads: usize,
    helper: &'s (impl Fn() + Sync),
    take: &impl Fn(),
    helpers: &Helpers,
) {
    for _ in 1..threads {
        helpers.queued.fetch_add(1, Ordering::AcqRel);
        scope.spawn(move |_| helper());
    }
    take();
    let start = std::time::Instant::now();
    loop {
        let running = helpers.running.load(Ordering::Acquire);
        let queued = helpers.queued.load(Ordering::Acquire);
        if running == 0 && queued == 0 {
            break;
        }
        let waited = start.elapsed();
        if waited >= SPIN_LIMIT || (running == 0 && waited >= QUEUED_SPIN_LIMIT) {
            break;
        }
        std::hint::spin_loop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock is re-raised by the scope: the data is not used then.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn into_inner<T>(m: Mutex<T>) -> T {
    m.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The longest the caller of [`map_shared`] spins for helpers at work before sleeping (for
/// one descheduled by a busy host).
const SPIN_LIMIT: std::time::Duration = std::time::Duration::from_millis(2);

/// The longest it spins for helpers that have not started: a wake-up in a virtual machine
/// takes 14-78 us (median), longer with a busy host.
const QUEUED_SPIN_LIMIT: std::time::Duration = std::time::Duration::from_micros(200);

fn pool() -> Option<&'static rayon::ThreadPool> {
    let generation = fork::generation();
    loop {
        let cur = CURRENT.load(Ordering::Acquire);
        // SAFETY: a non-null pointer was published by the compare-exchange below from a
        // leaked Box and is never freed, so it stays valid for the life of the process.
        if let Some(entry) = unsafe { cur.as_ref() } {
            if entry.generation == generation {
                return Some(&entry.pool);
            }
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("ferroboard-{i}"))
            .build()
            .ok()?;
        let fresh = Box::into_raw(Box::new(Entry { generation, pool }));
        if CURRENT
            .compare_exchange(cur, fresh, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Another thread published first: ours was never shared, so drop it.
            // SAFETY: `fresh` came from Box::into_raw above and was not published.
            drop(unsafe { Box::from_raw(fresh) });
        }
        // On success the old entry, if any, was the parent's: leaked on purpose.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_the_pool_and_inside_pools_stays_there() {
        let n = install(|| rayon::current_thread_index().is_some());
        assert!(n);
        let outer = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let threads = outer.install(|| install(rayon::current_num_threads));
        assert_eq!(threads, 3);
    }

    /// `map_shared` of `n` indices: each index once, results in index order, and which
    /// indices each state saw (disjoint, covering them all).
    fn check_shared(n: usize) {
        let calls = AtomicUsize::new(0);
        let (results, states) = map_shared(n, Vec::new, |seen: &mut Vec<usize>, i| {
            calls.fetch_add(1, Ordering::Relaxed);
            seen.push(i);
            i * 3
        });
        assert_eq!(results, (0..n).map(|i| i * 3).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::Relaxed), n);
        assert!(states.len() <= threads().min(n));
        assert!(
            states.iter().all(|s| !s.is_empty()),
            "a state made for no index"
        );
        let mut seen: Vec<usize> = states.into_iter().flatten().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn shared_work_covers_every_index_once_in_order() {
        for n in [0, 1, 2, 3, 17, 1000] {
            check_shared(n);
        }
        let outer = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        outer.install(|| {
            for n in [0, 1, 5, 200] {
                check_shared(n);
            }
        });
    }

    /// The calling thread computes indices itself (it does not hand everything to the pool
    /// and sleep): helpers here block in `f` until the caller has taken an index, which it
    /// does only if it takes part (with more indices than threads, one is left for it).
    #[test]
    fn the_calling_thread_takes_part() {
        let caller = std::thread::current().id();
        let caller_took = std::sync::atomic::AtomicBool::new(false);
        let n = threads() + 4;
        let (by_caller, _) = map_shared(
            n,
            || (),
            |(), _| {
                if std::thread::current().id() == caller {
                    caller_took.store(true, Ordering::Release);
                    return true;
                }
                let start = std::time::Instant::now();
                while !caller_took.load(Ordering::Acquire)
                    && start.elapsed() < std::time::Duration::from_secs(20)
                {
                    std::thread::yield_now();
                }
                false
            },
        );
        assert!(caller_took.load(Ordering::Acquire));
        assert!(by_caller.iter().any(|&c| c));
    }

    /// With every pool thread busy, the caller alone computes every index (its helpers stay
    /// queued), and once the pool is free they start, find nothing left, and the call returns.
    #[test]
    fn the_caller_finishes_alone_while_the_pool_is_busy() {
        use std::sync::{Arc, Condvar};
        use std::time::{Duration, Instant};
        let pool = pool().expect("a pool");
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let busy = Arc::new(AtomicUsize::new(0));
        for _ in 0..pool.current_num_threads() {
            let (gate, busy) = (Arc::clone(&gate), Arc::clone(&busy));
            pool.spawn(move || {
                busy.fetch_add(1, Ordering::AcqRel);
                let (open, cv) = &*gate;
                let mut open = lock(open);
                while !*open {
                    open = cv
                        .wait(open)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while busy.load(Ordering::Acquire) < pool.current_num_threads() {
            assert!(
                Instant::now() < deadline,
                "the pool's threads never got busy"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let done = Arc::new(AtomicUsize::new(0));
        let worker = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let me = std::thread::current().id();
                map_shared(
                    50,
                    || (),
                    |(), i| {
                        done.fetch_add(1, Ordering::AcqRel);
                        (i, std::thread::current().id() == me)
                    },
                )
            })
        };
        while done.load(Ordering::Acquire) < 50 {
            assert!(
                Instant::now() < deadline,
                "the caller did not compute every index"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let (open, cv) = &*gate;
        *lock(open) = true;
        cv.notify_all();
        let (results, states) = worker.join().unwrap();
        assert_eq!(results, (0..50).map(|i| (i, true)).collect::<Vec<_>>());
        assert_eq!(states.len(), 1, "only the caller made a state");
    }

    /// A panic in `f` reaches the caller, and the pool works afterwards.
    #[test]
    fn a_panic_in_shared_work_reaches_the_caller() {
        let r = std::panic::catch_unwind(|| {
            map_shared(
                64,
                || (),
                |(), i| {
                    assert!(i != 40, "index 40");
                    i
                },
            )
        });
        assert!(r.is_err());
        check_shared(64);
    }

    /// A child forked after the pool ran work gets a pool of its own and finishes.
    #[test]
    fn a_forked_child_gets_a_working_pool() {
        crate::test_process::alone(
            "runtime::parallel::tests::a_forked_child_gets_a_working_pool",
            || {
                use rayon::prelude::*;
                let sum = |n: u64| {
                    let parallel = install(|| (0..n).into_par_iter().sum::<u64>());
                    let (parts, _) = map_shared(n as usize, || (), |(), i| i as u64);
                    assert_eq!(parts.iter().sum::<u64>(), parallel);
                    parallel
                };
                assert_eq!(sum(1000), 499_500);
                // A pool that hangs in the child fails the wait after its deadline.
                let child = crate::test_process::fork(|| assert_eq!(sum(1000), 499_500));
                crate::test_process::wait_ok(child);
            },
        );
    }
}
