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
/// spawned by spinning (for the index one is finishing, or, when it woke too late to take
/// one, for it to start and see there is none), up to `SPIN_LIMIT`, before the scope's own
/// wait, which sleeps. A panic in `f` reaches the caller once the other threads have
/// finished the indices left.
pub fn map_shared<S: Send, R: Send>(
    n: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize) -> R + Sync,
) -> (Vec<R>, Vec<S>) {
    let next = AtomicUsize::new(0);
    let out: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let states = Mutex::new(Vec::new());
    // Helpers spawned and not finished (counted at the spawn: one still queued counts too).
    let unfinished = AtomicUsize::new(0);
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
        let _done = Done(&unfinished);
        take();
    };
    if n <= 1 {
        take();
    } else if rayon::current_thread_index().is_some() {
        // Inside a pool (whose waiting threads steal work): that pool's threads.
        let threads = rayon::current_num_threads().min(n);
        rayon::in_place_scope(|scope| share(scope, threads, &helper, &take, &unfinished));
    } else if let Some(pool) = pool() {
        let threads = pool.current_num_threads().min(n);
        pool.in_place_scope(|scope| share(scope, threads, &helper, &take, &unfinished));
    } else {
        take();
    }
    let results = out
        .into_iter()
        .map(|r| into_inner(r).expect("every index was taken"))
        .collect();
    (results, into_inner(states))
}

/// [`map_shared`]'s work in `scope`: `threads - 1` helpers spawned, the caller's share, then
/// the wait for helpers still at work.
fn share<'s>(
    scope: &rayon::Scope<'s>,
    threads: usize,
    helper: &'s (impl Fn() + Sync),
    take: &impl Fn(),
    unfinished: &AtomicUsize,
) {
    for _ in 1..threads {
        unfinished.fetch_add(1, Ordering::AcqRel);
        scope.spawn(move |_| helper());
    }
    take();
    // Helpers finish their last index (or start and find none) soon: spin rather than sleep
    // in the scope's wait (bounded, for a helper descheduled by a busy host).
    let start = std::time::Instant::now();
    while unfinished.load(Ordering::Acquire) > 0 && start.elapsed() < SPIN_LIMIT {
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

/// The longest the caller of [`map_shared`] spins for helpers before sleeping.
const SPIN_LIMIT: std::time::Duration = std::time::Duration::from_millis(2);

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
        use rayon::prelude::*;
        let sum = |n: u64| {
            let parallel = install(|| (0..n).into_par_iter().sum::<u64>());
            let (parts, _) = map_shared(n as usize, || (), |(), i| i as u64);
            assert_eq!(parts.iter().sum::<u64>(), parallel);
            parallel
        };
        assert_eq!(sum(1000), 499_500);
        // SAFETY: the child runs only this test's code, then `_exit`s without unwinding.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = sum(1000) == 499_500;
            // SAFETY: leaving the child without running the parent's destructors.
            unsafe { libc::_exit(i32::from(!ok)) };
        }
        let mut status = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            // SAFETY: polling our own child.
            let r = unsafe { libc::waitpid(pid, &raw mut status, libc::WNOHANG) };
            if r == pid {
                break;
            }
            if std::time::Instant::now() > deadline {
                // SAFETY: killing our own child, which hung.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                panic!("the forked child hung on the pool");
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}
