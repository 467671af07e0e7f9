//! Every `output.txt` shown in the book against a real run.
//!
//! The first line of an `output.txt` is the command the reader types:
//!
//! - `$ cargo run -p <package> [-- <args>]`: we run the listing's binary
//!   (built by one nested `cargo build --workspace --bins`) with those
//!   arguments and compare its stdout, then its stderr, with the rest of
//!   the file: exactly, or through `output.pattern` when parts vary.
//! - `$ cargo build` in a `fail-*` listing: we build a copy of the folder
//!   and compare the compiler's diagnostics exactly; the build must fail.
//!
//! `BLESS=1 cargo test -p book-tests --test outputs` rewrites every
//! `output.txt` from a real run (still checked against its pattern).

use crate::{
    blessing, cargo_in_copy, diff, package_of, pattern, root, run_with_timeout,
    workspace_bins,
};
use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// Listings that measure time run one at a time, so that one listing's
/// hundred threads do not show up as another's late timer.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const LIMIT: Duration = Duration::from_secs(120);

pub fn check(rel: &str) {
    let dir = root().join(rel);
    let shown_path = dir.join("output.txt");
    let shown = fs::read_to_string(&shown_path).unwrap();
    let command = shown.lines().next().unwrap_or_default().to_string();
    let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
    let real = if folder.starts_with("fail-") {
        assert_eq!(
            command, "$ cargo build",
            "{rel}/output.txt: a fail-* listing's output starts with \
             `$ cargo build`"
        );
        format!("{command}\n{}", failed_build(&dir))
    } else {
        format!("{command}\n{}", run(rel, &dir, &command))
    };

    if folder.starts_with("fail-") && !blessing() && !same_compiler() {
        // Another compiler words its help and notes its own way; the
        // errors themselves must still be the ones the book shows.
        let headlines = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| l.starts_with("error") || l.starts_with("warning"))
                .map(String::from)
                .collect()
        };
        assert_eq!(
            headlines(&shown),
            headlines(&real),
            "{rel}: the compiler's errors differ from the book's"
        );
        eprintln!(
            "{rel}: compared error lines only: the book's diagnostics come \
             from {}",
            recorded_compiler()
        );
        return;
    }
    let pattern_path = dir.join("output.pattern");
    if let Ok(pattern) = fs::read_to_string(&pattern_path) {
        if let Err(e) = pattern::check(&pattern, &real) {
            panic!("{rel}: a real run breaks output.pattern: {e}\n{real}");
        }
        if blessing() {
            fs::write(&shown_path, &real).unwrap();
        } else if let Err(e) = pattern::check(&pattern, &shown) {
            panic!("{rel}/output.txt, as shown, breaks output.pattern: {e}");
        }
    } else if blessing() {
        fs::write(&shown_path, &real).unwrap();
        fs::write(
            root().join("tests/rustc-version.txt"),
            format!("{}\n", current_compiler()),
        )
        .unwrap();
    } else if shown.trim_end() != real.trim_end() {
        panic!(
            "{rel}/output.txt differs from a real run \
             (BLESS=1 rewrites it):\n{}",
            diff(shown.trim_end(), real.trim_end())
        );
    }
}

/// Runs the listing as `$ cargo run -p <package> [-- <args>]` would and
/// returns what it printed.
fn run(rel: &str, dir: &Path, command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let (package, args) = match words.as_slice() {
        ["$", "cargo", "run", "-p", package] => (*package, &[][..]),
        ["$", "cargo", "run", "-p", package, "--", args @ ..] => {
            (*package, args)
        }
        _ => panic!(
            "{rel}/output.txt: the first line must be \
             `$ cargo run -p <package> [-- <args>]`, not `{command}`"
        ),
    };
    assert_eq!(
        package,
        package_of(dir),
        "{rel}/output.txt runs another listing's package"
    );
    let exe = workspace_bins()
        .get(package)
        .unwrap_or_else(|| panic!("{rel}: no binary for package {package}"));
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args).current_dir(root());
    let out = {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        run_with_timeout(cmd, LIMIT)
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{rel}: `{command}` failed ({}):\n{stdout}{stderr}",
        out.status
    );
    format!("{stdout}{stderr}")
}

/// Builds a copy of a `fail-*` listing, which must fail, and returns the
/// compiler's diagnostics without cargo's progress lines.
fn failed_build(dir: &Path) -> String {
    let out = cargo_in_copy(dir, &["build", "--offline"], LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{} was expected not to compile, but it did:\n{stderr}",
        dir.display()
    );
    // Paths into the reader's own cargo home are shown as `$CARGO_HOME`.
    let stderr = stderr.replace(&format!("{}/", cargo_home()), "$CARGO_HOME/");
    let mut kept = String::new();
    for line in stderr.lines().filter(|l| !is_progress(l)) {
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// Cargo's right-aligned status lines (`   Compiling x v0.1.0 (...)`).
fn is_progress(line: &str) -> bool {
    const VERBS: &[&str] = &[
        "Adding",
        "Blocking",
        "Checking",
        "Compiling",
        "Downloaded",
        "Downloading",
        "Finished",
        "Locking",
        "Removed",
        "Removing",
        "Updating",
    ];
    let word = line.trim_start().split(' ').next().unwrap_or_default();
    line.starts_with(' ') && VERBS.contains(&word)
}

fn cargo_home() -> String {
    std::env::var("CARGO_HOME")
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cargo")))
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string()
}

/// `tests/rustc-version.txt`: the compiler that produced the diagnostics
/// the book shows (written by a `BLESS=1` run).
fn recorded_compiler() -> String {
    let path = root().join("tests/rustc-version.txt");
    fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn current_compiler() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = std::process::Command::new(rustc)
        .arg("--version")
        .current_dir(root())
        .output()
        .expect("cannot run rustc --version");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether this compiler is the one the book's diagnostics come from. A
/// blessing run records the compiler it used.
fn same_compiler() -> bool {
    current_compiler() == recorded_compiler()
}
