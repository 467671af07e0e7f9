//! The exercises at the end of each chapter. Each is two listing folders:
//! `exercise-NN-slug`, the starter the reader works in, whose functions
//! end in `todo!()`, and `solution-NN-slug`, one way to finish it. Both
//! hold the same tests, in `src/tests.rs`, which the reader runs against
//! their own code.
//!
//! The pipeline checks both ways: every test of the starter fails, and
//! fails at a `todo!()` (so each tests something the reader must write),
//! and every test of the solution passes (the solution is a member of the
//! workspace, so `cargo test` runs its tests with every other listing's).
//! Both copy out alone, like every listing.

use crate::{cargo, copy_listing, root, run_with_timeout, target_dir};
use std::fs;
use std::time::Duration;

/// `listings/chNN-topic/exercise-NN-slug` -> its `solution-NN-slug`.
pub fn solution_of(exercise: &str) -> String {
    let (chapter, folder) = exercise.rsplit_once('/').unwrap();
    let rest = folder
        .strip_prefix("exercise-")
        .expect("an exercise folder");
    format!("{chapter}/solution-{rest}")
}

/// The counts in libtest's summary line: (passed, failed).
pub fn summary(output: &str) -> Option<(usize, usize)> {
    let line = output.lines().find(|l| l.starts_with("test result:"))?;
    let number = |what: &str| -> Option<usize> {
        let before = line.split(what).next()?;
        before
            .rsplit([' ', '.', ';'])
            .find(|w| !w.is_empty())?
            .parse()
            .ok()
    };
    Some((number(" passed")?, number(" failed")?))
}

pub fn check(exercise: &str) {
    let starter = root().join(exercise);
    let solution = root().join(solution_of(exercise));
    assert!(
        solution.join("Cargo.toml").is_file(),
        "{exercise} has no solution at {}",
        solution_of(exercise)
    );
    let tests = |dir: &std::path::Path| {
        fs::read_to_string(dir.join("src/tests.rs"))
            .unwrap_or_else(|e| panic!("{}/src/tests.rs: {e}", dir.display()))
    };
    assert!(
        tests(&starter) == tests(&solution),
        "{exercise}: the starter's and the solution's src/tests.rs differ"
    );
    // The starter, copied out alone as a reader would take it.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join(starter.file_name().unwrap());
    copy_listing(&starter, &copy);
    let mut cmd = cargo();
    cmd.current_dir(&copy)
        .args(["test", "--offline", "--", "--test-threads=1"])
        .env("CARGO_TARGET_DIR", target_dir());
    let out = run_with_timeout(cmd, Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some((passed, failed)) = summary(&stdout) else {
        panic!("{exercise}: the starter's tests did not run:\n{stderr}");
    };
    assert!(
        passed == 0 && failed > 0,
        "{exercise}: with the starter as it is, {passed} test(s) pass: a \
         test that passes before the reader writes anything tests nothing\
         \n{stdout}"
    );
    let at_todo = stdout.matches("not yet implemented").count();
    assert!(
        at_todo >= failed,
        "{exercise}: {failed} test(s) fail, but only {at_todo} at a \
         `todo!()`: a test that fails for another reason is broken\n{stdout}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtest_summaries() {
        let ok = "test result: ok. 3 passed; 0 failed; 0 ignored;";
        assert_eq!(summary(ok), Some((3, 0)));
        let bad = "x\ntest result: FAILED. 0 passed; 2 failed; 0 ignored;";
        assert_eq!(summary(bad), Some((0, 2)));
        assert_eq!(summary("nothing"), None);
    }

    #[test]
    fn pairs_an_exercise_with_its_solution() {
        assert_eq!(
            solution_of("listings/ch01-x/exercise-02-a-b"),
            "listings/ch01-x/solution-02-a-b"
        );
    }
}
