//! The thread pool for data-parallel work (reading logdirs, large histograms and PR curves),
//! safe to use again in a `fork()`ed child.
//!
//! A child process inherits a copy of rayon's global pool but none of its threads, so work
//! handed to it there waits forever (a `multiprocessing` worker forked after the parent read
//! a logdir would hang on its first read). [`install`] runs work on a pool that belongs to the
//! current fork generation ([`crate::runtime::fork::generation`]) and builds a fresh one the
//! first time it is needed in a child; the parent's copy is left alone (its threads do not
//! exist there).

use std::sync::atomic::{AtomicPtr, Ordering};

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

    /// A child forked after the pool ran work gets a pool of its own and finishes.
    #[test]
    fn a_forked_child_gets_a_working_pool() {
        use rayon::prelude::*;
        let sum = |n: u64| install(|| (0..n).into_par_iter().sum::<u64>());
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
