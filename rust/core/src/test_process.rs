//! Running one test alone in a process of its own: for the tests that `fork()`.
//!
//! The test harness runs tests on several threads of one process. A child forked there gets a
//! copy of every descriptor the other tests hold open at that moment, and keeps them until it
//! exits: a rewrite test's logdir lock (a `flock`, which belongs to the shared open file
//! description) stayed taken after the test released it, and an event file another test had
//! just closed still looked "open for writing" by the child (CI failed on the first). A test
//! that forks therefore re-runs itself in a fresh process of the test binary, with nothing
//! else in it ([`alone`]), and forks there ([`fork`], which refuses to fork anywhere else, and
//! [`wait_ok`]).

use std::process::Command;

/// The variable that tells a re-run test binary which test it runs alone.
const ALONE: &str = "FERROBOARD_TEST_ALONE";

/// Runs `body` in a fresh process of this test binary that runs only the test `name` (its
/// full path, `module::tests::name`), on one thread, and asserts that it passed; `body` runs
/// in that process only. The re-run must find exactly this test: a misspelt name fails.
pub(crate) fn alone(name: &str, body: impl FnOnce()) {
    if std::env::var_os(ALONE).is_some_and(|n| n == name) {
        body();
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(exe)
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(ALONE, name)
        .output()
        .expect("re-running the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name} alone in a process: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Forks a child that runs `child` and leaves with `_exit` (status 0, or 1 when `child`
/// panicked), never returning into the test; the parent gets the child's id. Only in a test
/// run by [`alone`].
#[cfg(unix)]
pub(crate) fn fork(child: impl FnOnce()) -> libc::pid_t {
    assert!(
        std::env::var_os(ALONE).is_some(),
        "fork only in a test run alone (test_process::alone)"
    );
    // SAFETY: this process runs one test, on one thread; the child runs only `child`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).is_ok();
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(i32::from(!ok)) };
    }
    pid
}

/// Waits for the child `pid` ([`fork`]) and asserts that it exited with status 0; one still
/// running after 20 s is killed and the test fails (a hang, not a wait forever).
#[cfg(unix)]
pub(crate) fn wait_ok(pid: libc::pid_t) {
    use std::time::{Duration, Instant};
    let mut status = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // SAFETY: polling our own child.
        let r = unsafe { libc::waitpid(pid, &raw mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        assert!(r == 0, "waitpid failed");
        if Instant::now() > deadline {
            // SAFETY: killing our own child, which hung.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the forked child hung");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the forked child failed (wait status {status})"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_runs_in_the_re_run_only() {
        use std::sync::atomic::{AtomicBool, Ordering};
        static RAN_HERE: AtomicBool = AtomicBool::new(false);
        alone(
            "test_process::tests::the_body_runs_in_the_re_run_only",
            || {
                RAN_HERE.store(true, Ordering::SeqCst);
            },
        );
        // In the harness's process: not run here (the re-run passed); in the re-run: run.
        assert_eq!(
            RAN_HERE.load(Ordering::SeqCst),
            std::env::var_os(ALONE).is_some()
        );
    }

    #[test]
    #[should_panic(expected = "alone in a process")]
    fn a_misspelt_name_fails() {
        alone("test_process::tests::no_such_test", || {});
    }

    #[cfg(unix)]
    #[test]
    #[should_panic(expected = "fork only in a test run alone")]
    fn fork_outside_a_test_run_alone_is_refused() {
        fork(|| {});
    }

    #[cfg(unix)]
    #[test]
    fn a_child_that_panics_fails_the_wait() {
        alone(
            "test_process::tests::a_child_that_panics_fails_the_wait",
            || {
                wait_ok(fork(|| {}));
                let pid = fork(|| panic!("the child's failure"));
                let waited = std::panic::catch_unwind(|| wait_ok(pid));
                assert!(waited.is_err());
            },
        );
    }

    /// In the re-run the body's panic does not match `expected`, so the re-run fails.
    #[test]
    #[should_panic(expected = "alone in a process")]
    fn a_failing_body_fails() {
        alone("test_process::tests::a_failing_body_fails", || {
            panic!("failed")
        });
    }
}
