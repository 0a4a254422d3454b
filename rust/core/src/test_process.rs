//! Running one test alone in a process of its own: for the tests that `fork()`.
//!
//! The test harness runs tests on several threads of one process. A child forked there gets a
//! copy of every descriptor the other tests hold open at that moment, and keeps them until it
//! exits: a rewrite test's logdir lock (a `flock`, which belongs to the shared open file
//! description) stayed taken after the test released it, and an event file another test had
//! just closed still looked "open for writing" by the child (CI failed on the first). A test
//! that forks therefore re-runs itself in a fresh process of the test binary, with nothing
//! else in it, and forks there.

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

    /// In the re-run the body's panic does not match `expected`, so the re-run fails.
    #[test]
    #[should_panic(expected = "alone in a process")]
    fn a_failing_body_fails() {
        alone("test_process::tests::a_failing_body_fails", || {
            panic!("failed")
        });
    }
}
