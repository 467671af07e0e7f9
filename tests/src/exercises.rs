//! The exercises at the end of each chapter. Each is two listing folders:
//! `exercise-NN-slug`, the starter the reader works in, whose functions
//! end in `todo!()`, and `solution-NN-slug`, one way to finish it. Both
//! hold the same tests, in `src/tests.rs`, which the reader runs against
//! their own code.
//!
//! The pipeline checks both ways, each on a copy of the folder alone:
//! every test of the starter fails, each at one of the starter's
//! `todo!()`s (so each tests something the reader must write); and the
//! solution passes every one of the same tests, none ignored. The
//! solution is also a member of the workspace, so `cargo test` runs its
//! tests with every other listing's.

use crate::{cargo_in_copy, root};
use std::fs;
use std::path::Path;
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

/// Runs `cargo test` in a copy of `dir`, alone, as a reader would; its
/// standard output.
fn test_alone(dir: &Path) -> String {
    let args = ["test", "--offline", "--", "--test-threads=1"];
    let out = cargo_in_copy(dir, &args, Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if summary(&stdout).is_none() {
        panic!(
            "{}: the tests did not run:\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
}

/// The failed tests of a libtest run, each with what it printed (its
/// `---- name stdout ----` section).
pub fn failures(output: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in output.lines() {
        let header = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"));
        if let Some(name) = header {
            found.extend(current.take());
            current = Some((name.to_string(), String::new()));
        } else if line == "failures:" || line.starts_with("test result:") {
            found.extend(current.take());
        } else if let Some((_, text)) = &mut current {
            text.push_str(line);
            text.push('\n');
        }
    }
    found.extend(current);
    found
}

/// Whether a failed test's output says it panicked at a `todo!()` of the
/// starter's `src/main.rs` (`panicked at src/main.rs:LINE:COL:`, then
/// `not yet implemented`), not somewhere else.
fn failed_at_todo(output: &str, main_rs: &str) -> bool {
    let lines: Vec<&str> = main_rs.lines().collect();
    output.lines().any(|l| {
        let Some(at) = l.split("panicked at src/main.rs:").nth(1) else {
            return false;
        };
        let line: usize =
            at.split(':').next().unwrap_or("").parse().unwrap_or(0);
        line > 0 && lines.get(line - 1).is_some_and(|l| l.contains("todo!("))
    })
}

pub fn check(exercise: &str) {
    let starter = root().join(exercise);
    let solution = root().join(solution_of(exercise));
    assert!(
        solution.join("Cargo.toml").is_file(),
        "{exercise} has no solution at {}",
        solution_of(exercise)
    );
    let tests = |dir: &Path| {
        fs::read_to_string(dir.join("src/tests.rs"))
            .unwrap_or_else(|e| panic!("{}/src/tests.rs: {e}", dir.display()))
    };
    assert!(
        tests(&starter) == tests(&solution),
        "{exercise}: the starter's and the solution's src/tests.rs differ"
    );
    // The starter, copied out alone as a reader would take it: every test
    // fails, and each at one of the starter's `todo!()`s.
    let stdout = test_alone(&starter);
    let (passed, failed) = summary(&stdout).unwrap();
    assert!(
        passed == 0 && failed > 0,
        "{exercise}: with the starter as it is, {passed} test(s) pass: a \
         test that passes before the reader writes anything tests nothing\
         \n{stdout}"
    );
    let main_rs = fs::read_to_string(starter.join("src/main.rs")).unwrap();
    let failures = failures(&stdout);
    assert_eq!(failures.len(), failed, "{exercise}: {stdout}");
    for (name, output) in &failures {
        assert!(
            failed_at_todo(output, &main_rs),
            "{exercise}: {name} fails, but not at a `todo!()` of the \
             starter's src/main.rs: a test that fails for another reason \
             is broken\n{output}"
        );
    }
    // The solution, copied out alone too: the same tests, all run, all
    // pass (none ignored, none missing).
    let stdout = test_alone(&solution);
    assert_eq!(
        summary(&stdout),
        Some((failed, 0)),
        "{}: the solution must pass the {failed} tests the starter fails\n\
         {stdout}",
        solution_of(exercise)
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
    fn finds_each_failed_test_and_where_it_panicked() {
        let out = "running 2 tests\n\nfailures:\n\n---- tests::a stdout ----\n\
                   \nthread 'tests::a' (7) panicked at src/main.rs:3:5:\n\
                   not yet implemented\n\n---- tests::b stdout ----\n\
                   \nthread 'tests::b' (8) panicked at src/tests.rs:9:1:\n\
                   boom\n\nfailures:\n    tests::a\n    tests::b\n\n\
                   test result: FAILED. 0 passed; 2 failed;";
        let found = failures(out);
        assert_eq!(found.len(), 2);
        let main_rs = "fn f() {\n    // work\n    todo!(\"f\")\n}\n";
        assert!(failed_at_todo(&found[0].1, main_rs));
        assert!(!failed_at_todo(&found[1].1, main_rs), "not in main.rs");
        let moved = "fn f() {\n    todo!(\"f\")\n}\n";
        assert!(!failed_at_todo(&found[0].1, moved), "line 3 is no todo");
    }

    #[test]
    fn pairs_an_exercise_with_its_solution() {
        assert_eq!(
            solution_of("listings/ch01-x/exercise-02-a-b"),
            "listings/ch01-x/solution-02-a-b"
        );
    }
}
