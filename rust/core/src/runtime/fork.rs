//! Detecting that this process is a `fork()` copy of the one that created an object.
//!
//! After `fork()` only the forking thread exists in the child: a writer's background thread is
//! gone, and any lock another thread held is held forever. Objects record [`generation`] when
//! created; a child sees a different value and must leave such state untouched.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

extern "C" fn bump_in_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The fork generation of this process: 0 in the original, one more in each forked child.
///
/// The first call registers a `pthread_atfork` child handler, so call it before any fork that
/// matters (creating a writer does).
#[inline]
pub fn generation() -> u64 {
    REGISTER.call_once(|| {
        #[cfg(unix)]
        // SAFETY: `bump_in_child` is async-signal-safe (one atomic add) and lives for the whole
        // program; registering it has no other precondition.
        unsafe {
            libc::pthread_atfork(None, None, Some(bump_in_child));
        }
    });
    GENERATION.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_sees_a_new_generation() {
        crate::test_process::alone("runtime::fork::tests::child_sees_a_new_generation", || {
            let before = generation();
            // SAFETY: the child only does async-signal-safe work (an atomic load) before `_exit`.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let code = i32::from(generation() != before + 1);
                // SAFETY: leaving the child without running the parent's destructors.
                unsafe { libc::_exit(code) };
            }
            let mut status = 0;
            // SAFETY: waiting on our own child.
            unsafe { libc::waitpid(pid, &raw mut status, 0) };
            assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
            assert_eq!(generation(), before);
        });
    }
}
