//! The book's measurements: benchmarks that produce the raw results in
//! `measure/results/`, and the renderer that turns them into the tables and
//! figures under `src/measurements/`. See `cargo measure --help`.
//!
//! Each benchmark is one module under `benchmarks/` that says how it runs,
//! what it renders and which claims the prose makes of it; `benchmarks`
//! lists them, and everything here loops over that list.

pub mod bench;
pub mod benchmarks;
pub mod claim;
pub mod micro;
pub mod net;
pub mod render;
pub mod results;
pub mod sys;

pub use bench::{Bench, Mode};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every benchmark, in the order `cargo measure` runs them.
pub const BENCHES: &[&Bench] = benchmarks::ALL;

/// The benchmark called `name`.
pub fn find(name: &str) -> Option<&'static Bench> {
    BENCHES.iter().copied().find(|b| b.name == name)
}

/// The names of every benchmark, in order.
pub fn names() -> Vec<&'static str> {
    BENCHES.iter().map(|b| b.name).collect()
}

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every generated file, by path relative to the repository root.
pub type Files = BTreeMap<String, String>;

/// Renders every benchmark's tables and figures from its saved results,
/// and checks every claim.
pub fn render_all(root: &Path) -> Result<Files, Vec<String>> {
    let mut files = Files::new();
    let mut errors = Vec::new();
    let out = |name: &str| format!("src/measurements/{name}");
    for bench in BENCHES {
        let r = match results::load(root, bench.name) {
            Ok(r) => r,
            Err(e) => {
                errors
                    .push(format!("measure/results/{}.json: {e}", bench.name));
                continue;
            }
        };
        if r.bench != bench.name {
            errors.push(format!(
                "measure/results/{}.json holds the results of `{}`",
                bench.name, r.bench
            ));
            continue;
        }
        for (name, text) in (bench.render)(&r) {
            files.insert(out(name), text);
        }
        let claims = (bench.claims)();
        if !claims.is_empty() {
            files.insert(
                out(&format!("{}-claims.md", bench.name)),
                claim::claims_md(&claims, &r, &mut errors),
            );
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// Renders in memory and compares with the files in the repository; the
/// number of files checked.
pub fn check(root: &Path) -> Result<usize, Vec<String>> {
    let files = render_all(root)?;
    let mut errors = Vec::new();
    for (rel, text) in &files {
        match std::fs::read_to_string(root.join(rel)) {
            Ok(on_disk) if on_disk == *text => {}
            Ok(_) => errors.push(format!(
                "{rel} is not what the results render to: run `cargo measure render`"
            )),
            Err(e) => errors.push(format!("{rel}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(files.len())
    } else {
        Err(errors)
    }
}

/// Writes every rendered file.
pub fn write(root: &Path, files: &Files) -> std::io::Result<()> {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap())?;
        std::fs::write(p, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry: one name per benchmark, each with saved results that
    /// are its own and read back exactly (every f64 the same, so that
    /// `cargo measure` re-saving them changes nothing), and no file
    /// rendered by two of them.
    #[test]
    fn every_benchmark_is_registered_once_and_renders_its_own_files() {
        let mut names = names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BENCHES.len(), "a benchmark name repeats");
        let mut rendered = std::collections::BTreeSet::new();
        for bench in BENCHES {
            let r = results::load(&root(), bench.name)
                .unwrap_or_else(|e| panic!("{}: {e}", bench.name));
            let path = results::path(&root(), bench.name);
            let saved = std::fs::read_to_string(&path).unwrap();
            let mut again = Vec::new();
            results::save_to(&mut again, &r).unwrap();
            assert!(
                saved.as_bytes() == again,
                "{}: loading and saving changes the file",
                path.display()
            );
            for (file, text) in (bench.render)(&r) {
                assert!(rendered.insert(file), "{file} is rendered twice");
                assert_eq!(
                    render::generated_by(&text).as_deref(),
                    Some(bench.name),
                    "{file} must name the benchmark that made it"
                );
            }
        }
    }
}
