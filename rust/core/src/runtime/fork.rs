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
            let child = crate::test_process::fork(|| assert_eq!(generation(), before + 1));
            crate::test_process::wait_ok(child);
            assert_eq!(generation(), before);
        });
    }
}
