//! The book's verification pipeline, shared by the test files in
//! `tests/tests/`. Nothing here is shown in the book.

pub mod browser;
pub mod copies;
pub mod copy_out;
pub mod exercises;
pub mod expand;
pub mod layout;
pub mod links;
pub mod outputs;
pub mod pattern;
pub mod rules;

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository's root (the workspace).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A `cargo` command run from the root, offline (every crate the book
/// needs is already in the local registry once the workspace has built)
/// and without colours, so that its diagnostics can be compared as text.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root())
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTC_WRAPPER");
    cmd
}

/// What `cargo metadata --no-deps` says of the workspace, asked once per
/// test process.
pub fn metadata() -> &'static cargo_metadata::Metadata {
    static META: OnceLock<cargo_metadata::Metadata> = OnceLock::new();
    META.get_or_init(|| {
        let mut cmd = cargo_metadata::MetadataCommand::new();
        if let Some(cargo) = std::env::var_os("CARGO") {
            cmd.cargo_path(cargo);
        }
        cmd.manifest_path(root().join("Cargo.toml"))
            .no_deps()
            .other_options(vec!["--offline".to_string()])
            .exec()
            .expect("cargo metadata failed")
    })
}

/// The workspace's target directory, wherever `CARGO_TARGET_DIR` or a
/// config file put it.
pub fn target_dir() -> &'static Path {
    metadata().target_directory.as_std_path()
}

/// One artifact reported by `cargo build --message-format=json`.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub package: String,
    pub kinds: Vec<String>,
    pub filenames: Vec<PathBuf>,
    pub executable: Option<PathBuf>,
}

/// Runs `cargo build <args>` and returns what it built. Nested builds share
/// the workspace's target directory, so they reuse every dependency the
/// outer `cargo test` already compiled.
pub fn cargo_build(args: &[&str]) -> Vec<Artifact> {
    use cargo_metadata::Message;
    let out = cargo()
        .args(["build", "--offline", "--message-format=json"])
        .args(args)
        .output()
        .expect("cannot run cargo build");
    let messages: Vec<Message> = Message::parse_stream(&out.stdout[..])
        .filter_map(Result::ok)
        .collect();
    // A message this version of cargo_metadata cannot read comes back as a
    // text line: an artifact lost that way must not pass unnoticed.
    for m in &messages {
        if let Message::TextLine(line) = m {
            assert!(
                !line.starts_with("{\"reason\":\"compiler-artifact\""),
                "a build message cargo_metadata cannot read: {line}"
            );
        }
    }
    if !out.status.success() {
        let rendered: String = messages
            .iter()
            .filter_map(|m| match m {
                Message::CompilerMessage(m) => m.message.rendered.clone(),
                _ => None,
            })
            .collect();
        panic!(
            "cargo build {args:?} failed:\n{rendered}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let names: HashMap<&cargo_metadata::PackageId, &str> = metadata()
        .packages
        .iter()
        .map(|p| (&p.id, p.name.as_str()))
        .collect();
    messages
        .into_iter()
        .filter_map(|m| match m {
            Message::CompilerArtifact(a) => Some(a),
            _ => None,
        })
        .map(|a| Artifact {
            package: names
                .get(&a.package_id)
                .map_or_else(|| a.target.name.clone(), |n| n.to_string()),
            kinds: a.target.kind.iter().map(|k| k.to_string()).collect(),
            filenames: a.filenames.into_iter().map(PathBuf::from).collect(),
            executable: a.executable.map(PathBuf::from),
        })
        .collect()
}

/// Every binary of the workspace's listings, by package name, built once
/// per test process.
pub fn workspace_bins() -> &'static HashMap<String, PathBuf> {
    static BINS: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    BINS.get_or_init(|| {
        cargo_build(&["--workspace", "--bins"])
            .into_iter()
            .filter_map(|a| a.executable.map(|e| (a.package, e)))
            .collect()
    })
}

/// The directory to give `mdbook test -L`: exactly one build of every crate
/// the book's code uses (tokio, crossbeam, mio and what they depend on).
/// The target directory's own `deps/` will not do: it holds several builds
/// of some crates, and rustdoc refuses to choose (E0464).
pub fn mdbook_deps_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let artifacts = cargo_build(&["-p", "book-deps"]);
        // Several checkouts (git worktrees) may share one target directory
        // through `CARGO_TARGET_DIR`. Each then gets a directory of its own,
        // named after its folder, or two runs at once would mix builds of
        // one crate and rustdoc would refuse both (error E0464).
        let dir = if target_dir().starts_with(root()) {
            target_dir().join("mdbook-deps")
        } else {
            let root = root();
            let checkout = root.file_name().unwrap().to_string_lossy();
            target_dir().join(format!("mdbook-deps-{checkout}"))
        };
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for a in artifacts.iter().filter(|a| a.package != "book-deps") {
            for f in &a.filenames {
                fs::copy(f, dir.join(f.file_name().unwrap())).unwrap();
            }
        }
        dir
    })
}

/// Runs `cmd` with a time limit, killing it when the limit passes.
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    // Drain both pipes on their own threads so a chatty child never blocks.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} ran longer than {limit:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Copies a listing folder, without any `target/` in it, into `to`, with
/// the workspace's `Cargo.lock` beside it so that it resolves the same
/// versions as the book.
pub fn copy_listing(from: &Path, to: &Path) {
    fn copy_dir(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" {
                    copy_dir(&path, &to.join(&name));
                }
            } else {
                fs::copy(&path, to.join(&name)).unwrap();
            }
        }
    }
    copy_dir(from, to);
    fs::copy(root().join("Cargo.lock"), to.join("Cargo.lock")).unwrap();
}

/// Copies the listing folder `dir` out of the repository alone (see
/// `copy_listing`) and runs `cargo <args>` in the copy, offline, sharing
/// the workspace's target directory so that only the listing itself
/// compiles again; what cargo printed.
pub fn cargo_in_copy(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join(dir.file_name().unwrap());
    copy_listing(dir, &copy);
    let mut cmd = cargo();
    cmd.current_dir(&copy)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir());
    run_with_timeout(cmd, limit)
}

/// The `name` in a listing's Cargo.toml.
pub fn package_of(dir: &Path) -> String {
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    manifest
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "name")
                .then(|| value.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("no package name in {}", dir.display()))
}

/// A short report of where two texts first differ.
pub fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let first = (0..e.len().max(a.len()))
        .find(|&i| e.get(i) != a.get(i))
        .unwrap_or(0);
    format!(
        "first difference at line {}:\n  shown: {:?}\n  real:  {:?}\n\
         --- shown ---\n{expected}\n--- real ---\n{actual}",
        first + 1,
        e.get(first).copied().unwrap_or("<end>"),
        a.get(first).copied().unwrap_or("<end>"),
    )
}

/// Whether the run asked to rewrite the shown outputs from real runs.
pub fn blessing() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v == "1")
}
