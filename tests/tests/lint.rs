//! The house rules for listings that a compiler would not catch.

use book_tests::{cargo, layout, root, run_with_timeout};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn listing_dirs() -> Vec<PathBuf> {
    layout::listing_dirs(&root().join("listings"))
}

/// The sections of a manifest whose dependencies a listing may have: all
/// platforms', and Linux's (for what only `/proc` tells).
const DEPENDENCY_SECTIONS: [&str; 2] = [
    "[dependencies]",
    "[target.'cfg(target_os = \"linux\")'.dependencies]",
];

/// The dependency lines of a manifest: (section, crate name, line).
fn dependency_lines(manifest: &str) -> Vec<(String, String, String)> {
    let mut section = None;
    let mut deps = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = Some(line.to_string());
        } else if let Some(s) = &section
            && !line.is_empty()
            && !line.starts_with('#')
        {
            let name = line.split('=').next().unwrap().trim().to_string();
            deps.push((s.clone(), name, line.to_string()));
        }
    }
    deps.retain(|(s, ..)| s.contains("dependencies"));
    deps
}

/// Each listing's manifest stands alone and names its dependencies exactly
/// as `tests/book-deps` and `tests/Cargo.toml` do, so one build of each
/// crate serves the workspace, the copied-out listings, skeptic and
/// `mdbook test`.
#[test]
fn listing_manifests_follow_the_conventions() {
    let book_deps =
        fs::read_to_string(root().join("tests/book-deps/Cargo.toml")).unwrap();
    let tests = fs::read_to_string(root().join("tests/Cargo.toml")).unwrap();
    let known = dependency_lines(&book_deps);
    let mut problems = Vec::new();
    for dir in listing_dirs() {
        let rel = dir.strip_prefix(root()).unwrap().display().to_string();
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let chapter = dir.parent().unwrap().file_name().unwrap();
        let chapter = chapter.to_string_lossy();
        let prefix = chapter.split('-').next().unwrap();
        let folder = dir.file_name().unwrap().to_string_lossy();
        let name = format!("name = \"{prefix}-{folder}\"");
        if !manifest.lines().any(|l| l.trim() == name) {
            problems.push(format!("{rel}: the package must be `{name}`"));
        }
        // A listing about what an edition changed names that edition
        // in its folder (`...-2021`); every other is in the 2024 one.
        let edition = match folder.rsplit('-').next() {
            Some("2021") => "edition = \"2021\"",
            _ => "edition = \"2024\"",
        };
        if !manifest.lines().any(|l| l.trim() == edition) {
            problems.push(format!("{rel}: `{edition}` is missing"));
        }
        for bad in ["path =", "workspace", "[dev-dependencies]"] {
            if manifest.contains(bad) {
                problems
                    .push(format!("{rel}: `{bad}` would not survive a copy"));
            }
        }
        for (section, dep, line) in dependency_lines(&manifest) {
            if !DEPENDENCY_SECTIONS.contains(&section.as_str()) {
                problems.push(format!(
                    "{rel}: `{dep}` under {section}: a listing's \
                     dependencies go under {}",
                    DEPENDENCY_SECTIONS.join(" or ")
                ));
                continue;
            }
            let in_tests = dependency_lines(&tests);
            match known.iter().find(|(s, k, _)| *s == section && *k == dep) {
                None => problems.push(format!(
                    "{rel}: {dep} is not under {section} in \
                     tests/book-deps/Cargo.toml (nor linked by skeptic or \
                     mdbook test)"
                )),
                Some((.., spelled)) if *spelled != line => problems
                    .push(format!("{rel}: `{line}` differs from `{spelled}`")),
                Some((.., spelled))
                    if !in_tests
                        .iter()
                        .any(|(s, _, l)| *s == section && l == spelled) =>
                {
                    problems.push(format!(
                        "tests/Cargo.toml lacks `{spelled}` under \
                         {section}, so skeptic cannot link it"
                    ))
                }
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn listings_and_pipeline_are_formatted() {
    let mut files = layout::rust_files(&root().join("listings"));
    files.extend(layout::rust_files(&root().join("tests")));
    // `cargo fmt` misses measure's benchmarks: their modules are declared
    // by a macro, which rustfmt does not follow.
    files.extend(layout::rust_files(&root().join("measure/src")));
    let mut cmd = Command::new("rustfmt");
    cmd.args(["--check", "--edition", "2024"]).args(&files);
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "rustfmt --check (run `cargo fmt --all`, and rustfmt the fail-* \
         listings and measure/src/benchmarks):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn listing_lines_fit_the_page() {
    let files = layout::rust_files(&root().join("listings"));
    let mut long = Vec::new();
    for f in files {
        for (i, line) in fs::read_to_string(&f).unwrap().lines().enumerate() {
            if line.chars().count() > 80 {
                long.push(format!("{}:{}", f.display(), i + 1));
            }
        }
    }
    assert!(
        long.is_empty(),
        "lines over 80 columns:\n{}",
        long.join("\n")
    );
}

/// Every crate of the workspace passes clippy with warnings as errors:
/// the listings, `measure`, and this test suite itself.
#[test]
fn every_crate_passes_clippy() {
    let mut cmd = cargo();
    cmd.args(["clippy", "--offline", "--workspace", "--all-targets"])
        .args(["--", "-D", "warnings"]);
    let out = run_with_timeout(cmd, Duration::from_secs(600));
    assert!(
        out.status.success(),
        "clippy:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cargo build` inside a `fail-*` or `exercise-*` folder works only if
/// the workspace excludes it by its path (`exclude` takes no globs).
#[test]
fn fail_listings_and_exercises_are_excluded_from_the_workspace() {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    for dir in listing_dirs() {
        let rel = dir.strip_prefix(root()).unwrap().display().to_string();
        let folder = dir.file_name().unwrap().to_string_lossy().to_string();
        let apart =
            folder.starts_with("fail-") || folder.starts_with("exercise-");
        if apart && !manifest.contains(&format!("\"{rel}\"")) {
            panic!("Cargo.toml's workspace.exclude lacks \"{rel}\"");
        }
    }
}

/// The root `Cargo.toml`'s member globs and the pipeline's rule
/// (`rules::is_workspace_member`, which decides what may be shown as code
/// that compiles) agree on every listing folder.
#[test]
fn workspace_membership_is_one_rule() {
    let members: Vec<PathBuf> = book_tests::metadata()
        .workspace_packages()
        .iter()
        .map(|p| p.manifest_path.parent().unwrap().as_std_path().to_owned())
        .collect();
    for dir in listing_dirs() {
        let folder = dir.file_name().unwrap().to_string_lossy();
        let member = members.contains(&dir);
        assert_eq!(
            member,
            book_tests::rules::is_workspace_member(&folder),
            "{}: the workspace and the pipeline disagree",
            dir.display()
        );
    }
}

/// The part of a code block a reader sees at once, in chapters 1 and 2,
/// where each block teaches one thing: at most 25 lines. Longer programs
/// are shown in parts with prose between, or hide what repeats (lines
/// that start with `# `, which the reader can reveal). An exercise's
/// solution, folded in a `<details>` that the reader opens on purpose, is
/// shown whole.
#[test]
fn early_code_blocks_fit_on_a_screen() {
    use book_tests::expand;
    const MAX: usize = 25;
    let src = root().join("src");
    let mut long = Vec::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.starts_with("ch01-") || name.starts_with("ch02-")) {
            continue;
        }
        let raw = fs::read_to_string(&path).unwrap();
        let expanded =
            expand::expand_chapter(&src, &PathBuf::from(&name), &raw);
        assert!(expanded.errors.is_empty(), "{name}: {:?}", expanded.errors);
        // Includes do not add or remove fences: the blocks of the raw text
        // and of the expanded one are the same blocks, in the same order,
        // and the raw one knows the line in the file.
        let raw_blocks = expand::blocks(&raw);
        let blocks = expand::blocks(&expanded.content);
        assert_eq!(raw_blocks.len(), blocks.len(), "{name}");
        let lines: Vec<&str> = raw.lines().collect();
        let folded = |line: usize| {
            let above = &lines[..line - 1];
            let open = above.iter().rposition(|l| l.trim() == "<details>");
            let close = above.iter().rposition(|l| l.trim() == "</details>");
            open > close
        };
        for (at, block) in raw_blocks.iter().zip(&blocks) {
            if block.is_rust()
                && !folded(at.line)
                && visible_lines(&block.body) > MAX
            {
                long.push(format!("{name}:{}", at.line));
            }
        }
    }
    assert!(
        long.is_empty(),
        "code blocks with more than {MAX} visible lines:\n{}",
        long.join("\n")
    );
}

/// The lines of a Rust block that mdBook shows before the reader asks for
/// the hidden ones.
fn visible_lines(body: &str) -> usize {
    body.lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t == "#" || t.starts_with("# "))
        })
        .count()
}

#[test]
fn visible_lines_leave_out_hidden_ones() {
    let body = "# use std::io;\n#\nfn main() {\n    # let hidden = 1;\n}\n";
    assert_eq!(visible_lines(body), 2);
}

/// The blocks of a chapter that show a 2021-edition listing's code (its
/// folder ends in `-2021`) without saying `edition2021`, by line.
fn blocks_showing_2021_as_2024(raw: &str) -> Vec<usize> {
    book_tests::expand::blocks(raw)
        .into_iter()
        .filter(|block| {
            let includes_2021 = block.body.lines().any(|l| {
                l.contains("{{#") && l.contains("-2021/") && l.contains(".rs")
            });
            includes_2021 && !block.tokens().contains(&"edition2021")
        })
        .map(|block| block.line)
        .collect()
}

/// A listing of the 2021 edition keeps its edition when the book shows its
/// code: `mdbook test` compiles a block as the book's edition, 2024,
/// unless the block says `edition2021`.
#[test]
fn edition_2021_listings_are_shown_as_2021() {
    let src = root().join("src");
    let mut wrong = Vec::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let raw = fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for line in blocks_showing_2021_as_2024(&raw) {
            wrong.push(format!("{name}:{line}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "blocks that show a 2021 listing as 2024 code:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn a_2021_listing_shown_as_2024_is_found() {
    let include =
        "{{#rustdoc_include ../listings/x/no-listing-1-a-2021/src/main.rs}}";
    let wrong = format!("text\n\n```rust\n{include}\n```\n");
    assert_eq!(blocks_showing_2021_as_2024(&wrong), vec![3]);
    let right = format!("```rust,edition2021\n{include}\n```\n");
    assert!(blocks_showing_2021_as_2024(&right).is_empty());
    let output =
        "```console\n{{#include ../listings/x/a-2021/output.txt}}\n```\n";
    assert!(blocks_showing_2021_as_2024(output).is_empty());
}
