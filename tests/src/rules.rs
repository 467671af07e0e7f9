//! The book's structural rules, checked when `tests/` is built (by
//! `build.rs`, which includes this file) and tested here one by one. Each
//! function returns or collects the problems it finds, each naming the
//! chapter or listing at fault.

use crate::{expand, layout};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What checking the book found: each chapter with its includes expanded,
/// everything the chapters include, the listings, and the problems.
pub struct Checked {
    pub chapters: Vec<(PathBuf, String)>,
    pub uses: Vec<expand::Use>,
    pub listings: Vec<PathBuf>,
    pub errors: Vec<String>,
}

/// Checks the book under `root` (its `src/` and `listings/`) against every
/// rule of this module.
pub fn check_book(root: &Path) -> Checked {
    let src = root.join("src");
    let mut errors = Vec::new();
    let mut chapters = Vec::new();
    let mut uses = Vec::new();
    for chapter in self::chapters(&src, &mut errors) {
        let text = fs::read_to_string(src.join(&chapter)).unwrap();
        let name = chapter.display().to_string();
        check_blocks(&src, &name, &text, &mut errors);
        let expanded = expand::expand_chapter(&src, &chapter, &text);
        errors.extend(expanded.errors);
        uses.extend(expanded.uses);
        chapters.push((chapter, expanded.content));
    }
    let listings = layout::listing_dirs(&root.join("listings"));
    check_listings(root, &listings, &uses, &mut errors);
    Checked {
        chapters,
        uses,
        listings,
        errors,
    }
}

/// Whether a listing folder is a member of the workspace: `NN-slug`,
/// `no-listing-NN-slug` and `solution-NN-slug` are; `fail-NN-slug` is not
/// (it must not compile), nor `exercise-NN-slug` (its tests fail until
/// the reader writes the code). The root `Cargo.toml` says the same with
/// its globs (`listings/*/[0-9]*`, `listings/*/no-listing-*`,
/// `listings/*/solution-*`), and a lint test checks the two against
/// `cargo metadata`.
pub fn is_workspace_member(folder: &str) -> bool {
    let f = folder.strip_prefix("no-listing-").unwrap_or(folder);
    let f = f.strip_prefix("solution-").unwrap_or(f);
    let f = f.as_bytes();
    f.len() > 3 && f[..2].iter().all(u8::is_ascii_digit) && f[2] == b'-'
}

/// Every chapter file under `src/`, which must be exactly the files that
/// `SUMMARY.md` links to: mdBook would otherwise create an empty page for
/// a missing one, or silently leave an unlinked one out.
pub fn chapters(src: &Path, errors: &mut Vec<String>) -> Vec<PathBuf> {
    let summary = fs::read_to_string(src.join("SUMMARY.md"))
        .expect("src/SUMMARY.md is missing");
    let linked: BTreeSet<PathBuf> = summary
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| target.ends_with(".md"))
        .map(PathBuf::from)
        .collect();
    let mut on_disk = BTreeSet::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                // Generated tables, included by chapters, are not pages.
                if path != src.join("measurements") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "md") {
                let rel = path.strip_prefix(src).unwrap().to_path_buf();
                if rel != Path::new("SUMMARY.md") {
                    on_disk.insert(rel);
                }
            }
        }
    }
    for missing in linked.difference(&on_disk) {
        errors.push(format!(
            "SUMMARY.md links to {}, which does not exist",
            missing.display()
        ));
    }
    for unlinked in on_disk.difference(&linked) {
        errors.push(format!(
            "src/{} is not linked from SUMMARY.md",
            unlinked.display()
        ));
    }
    on_disk.into_iter().collect()
}

/// Every Rust block is exactly one `{{#rustdoc_include}}` of a listing,
/// with a fence tag the pipeline knows how to check.
pub fn check_blocks(
    src: &Path,
    chapter: &str,
    text: &str,
    errors: &mut Vec<String>,
) {
    for block in expand::blocks(text) {
        if !block.is_rust() {
            continue;
        }
        let at = format!("{chapter}:{}", block.line);
        let tokens = block.tokens();
        let flags: Vec<&str> = tokens[1..].to_vec();
        let known = match flags.as_slice() {
            [] | ["no_run"] | ["should_panic"] | ["compile_fail"] => true,
            ["compile_fail", code] => is_error_code(code),
            _ => false,
        };
        if !known {
            errors.push(format!(
                "{at}: fence `{}` is not one of rust, rust,no_run, \
                 rust,should_panic, rust,compile_fail[,E0000] (`ignore` \
                 would hide the block from every check)",
                block.info
            ));
        }
        let body = block.body.trim();
        let directive = body
            .strip_prefix("{{#rustdoc_include ")
            .and_then(|rest| rest.strip_suffix("}}"))
            .filter(|_| !body.contains('\n'));
        let Some(target) = directive else {
            errors.push(format!(
                "{at}: a Rust block must be one `{{{{#rustdoc_include \
                 ../listings/...:anchor}}}}` line, so that its code is \
                 compiled with its listing"
            ));
            continue;
        };
        let path = target.trim().split(':').next().unwrap();
        let folder = listing_folder_name(&src.join(path));
        let is_fail = folder.as_deref().is_some_and(|f| f.starts_with("fail-"));
        let is_exercise = folder.as_deref().is_some_and(|f| {
            is_workspace_member(&f.replacen("exercise-", "", 1))
                && f.starts_with("exercise-")
        });
        // Only a member is compiled before the tests run: skeptic would
        // pass a `should_panic` block that does not compile. An exercise's
        // starter compiles (its own test checks it), but panics where the
        // reader has work to do: shown as `no_run` only.
        let is_member = folder.as_deref().is_some_and(is_workspace_member);
        if !is_fail && !is_member && !is_exercise && folder.is_some() {
            errors.push(format!(
                "{at}: {path}: a listing folder is named NN-slug, \
                 no-listing-NN-slug, fail-NN-slug, exercise-NN-slug or \
                 solution-NN-slug"
            ));
        }
        if is_exercise && flags.as_slice() != ["no_run"] {
            errors.push(format!(
                "{at}: {path} is an exercise's starter, which panics where \
                 the reader has work to do: tag its block rust,no_run"
            ));
        }
        match folder {
            None => errors.push(format!(
                "{at}: {path} is not inside a listing folder \
                 (listings/chNN-topic/NN-slug/)"
            )),
            Some(_) if flags.first() == Some(&"compile_fail") && !is_fail => {
                errors.push(format!(
                    "{at}: a compile_fail block must come from a fail-* \
                     listing, not {path}"
                ))
            }
            Some(_) if flags.first() != Some(&"compile_fail") && is_fail => {
                errors.push(format!(
                    "{at}: {path} is a fail-* listing: tag its block \
                     rust,compile_fail"
                ))
            }
            Some(_) => {}
        }
    }
}

fn is_error_code(s: &str) -> bool {
    s.len() == 5
        && s.starts_with('E')
        && s[1..].bytes().all(|b| b.is_ascii_digit())
}

/// `listings/chNN-topic/<folder>/...` -> `<folder>`.
fn listing_folder_name(path: &Path) -> Option<String> {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let at = parts.iter().rposition(|p| p == "listings")?;
    parts.get(at + 2).filter(|_| parts.len() > at + 3).cloned()
}

fn canonical(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Every listing is used by a chapter, every anchor in it is balanced and
/// used, and every `output.txt` is shown.
pub fn check_listings(
    root: &Path,
    listings: &[PathBuf],
    uses: &[expand::Use],
    errors: &mut Vec<String>,
) {
    let mut used: BTreeMap<PathBuf, BTreeSet<Option<String>>> = BTreeMap::new();
    for u in uses {
        used.entry(canonical(&u.file))
            .or_default()
            .insert(u.anchor.clone());
    }
    for dir in listings {
        let rel = dir.strip_prefix(root).unwrap().display().to_string();
        let dir = canonical(dir);
        if !used.keys().any(|f| f.starts_with(&dir)) {
            errors.push(format!("listing {rel} is not used by any chapter"));
        }
        let output = dir.join("output.txt");
        if output.is_file() && !used.contains_key(&output) {
            errors
                .push(format!("{rel}/output.txt is not shown by any chapter"));
        }
        for file in layout::rust_files(&dir.join("src")) {
            let text = fs::read_to_string(&file).unwrap();
            let shown = file.strip_prefix(&dir).unwrap().display();
            match expand::anchors_of(&text) {
                Err(e) => errors.push(format!("{rel}/{shown}: {e}")),
                Ok(anchors) => {
                    let file_uses = used.get(&file);
                    for a in anchors {
                        let hit = file_uses
                            .is_some_and(|u| u.contains(&Some(a.clone())));
                        if !hit {
                            errors.push(format!(
                                "{rel}/{shown}: anchor `{a}` is not used by \
                                 any chapter"
                            ));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A book of one chapter and one listing, sound as written, in a
    /// temporary folder; each test breaks one rule and looks for the
    /// problem it must cause.
    struct Book(tempfile::TempDir);

    const CHAPTER: &str = "# One\n\n\
        ```rust\n\
        {{#rustdoc_include ../listings/ch01-x/01-a/src/main.rs:here}}\n\
        ```\n\n\
        ```console\n\
        {{#include ../listings/ch01-x/01-a/output.txt}}\n\
        ```\n";

    impl Book {
        fn new() -> Book {
            let book = Book(tempfile::tempdir().unwrap());
            book.write(
                "src/SUMMARY.md",
                "# Summary\n\n- [One](ch01-01-one.md)\n",
            );
            book.write("src/ch01-01-one.md", CHAPTER);
            book.write("listings/ch01-x/01-a/Cargo.toml", "[package]\n");
            book.write(
                "listings/ch01-x/01-a/src/main.rs",
                "// ANCHOR: here\nfn main() {}\n// ANCHOR_END: here\n",
            );
            book.write("listings/ch01-x/01-a/output.txt", "$ cargo run\n");
            book
        }

        fn write(&self, rel: &str, text: &str) {
            let path = self.0.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }

        fn problems(&self) -> Vec<String> {
            check_book(self.0.path()).errors
        }

        /// Asserts that one of the book's problems contains `what`.
        fn has_problem(&self, what: &str) {
            let problems = self.problems();
            assert!(problems.iter().any(|p| p.contains(what)), "{problems:#?}");
        }

        /// Asserts that the book has exactly one problem, containing `what`.
        fn fails_with(&self, what: &str) {
            let problems = self.problems();
            assert_eq!(problems.len(), 1, "{problems:#?}");
            assert!(problems[0].contains(what), "{problems:#?}");
        }
    }

    #[test]
    fn the_sound_book_has_no_problem() {
        assert_eq!(Book::new().problems(), Vec::<String>::new());
    }

    #[test]
    fn a_chapter_summary_md_does_not_link() {
        let book = Book::new();
        book.write("src/ch01-02-two.md", "# Two\n");
        book.fails_with("src/ch01-02-two.md is not linked from SUMMARY.md");
    }

    #[test]
    fn a_link_to_a_missing_chapter() {
        let book = Book::new();
        let summary = "# Summary\n\n- [One](ch01-01-one.md)\n- [Two](two.md)\n";
        book.write("src/SUMMARY.md", summary);
        book.fails_with("links to two.md, which does not exist");
    }

    #[test]
    fn an_inline_rust_block() {
        let book = Book::new();
        let text = format!("{CHAPTER}\n```rust\nfn main() {{}}\n```\n");
        book.write("src/ch01-01-one.md", &text);
        book.fails_with("a Rust block must be one");
    }

    #[test]
    fn an_ignored_block() {
        let book = Book::new();
        let text = CHAPTER.replace("```rust\n", "```rust,ignore\n");
        book.write("src/ch01-01-one.md", &text);
        book.fails_with("`ignore` would hide the block");
    }

    #[test]
    fn a_missing_anchor() {
        let book = Book::new();
        book.write("src/ch01-01-one.md", &CHAPTER.replace(":here", ":there"));
        // The anchor the chapter asks for is missing, and the one the
        // listing has is now unused.
        book.has_problem("`there`");
        book.has_problem("anchor `here` is not used");
    }

    #[test]
    fn an_anchor_no_chapter_uses() {
        let book = Book::new();
        book.write(
            "listings/ch01-x/01-a/src/main.rs",
            "// ANCHOR: here\nfn main() {}\n// ANCHOR_END: here\n\
             // ANCHOR: spare\nfn f() {}\n// ANCHOR_END: spare\n",
        );
        book.fails_with("anchor `spare` is not used by any chapter");
    }

    #[test]
    fn a_listing_no_chapter_uses() {
        let book = Book::new();
        book.write("listings/ch01-x/02-b/Cargo.toml", "[package]\n");
        book.write("listings/ch01-x/02-b/src/main.rs", "fn main() {}\n");
        book.fails_with("listing listings/ch01-x/02-b is not used");
    }

    #[test]
    fn an_output_no_chapter_shows() {
        let book = Book::new();
        let text = CHAPTER.split("```console").next().unwrap();
        book.write("src/ch01-01-one.md", text);
        book.fails_with("01-a/output.txt is not shown by any chapter");
    }

    #[test]
    fn a_compile_fail_block_from_a_listing_that_compiles() {
        let book = Book::new();
        let text = CHAPTER.replace("```rust\n", "```rust,compile_fail\n");
        book.write("src/ch01-01-one.md", &text);
        book.fails_with("a compile_fail block must come from a fail-* listing");
    }

    #[test]
    fn a_listing_folder_with_another_name() {
        let book = Book::new();
        let from = "listings/ch01-x/01-a";
        let to = "listings/ch01-x/first";
        fs::rename(book.0.path().join(from), book.0.path().join(to)).unwrap();
        book.write("src/ch01-01-one.md", &CHAPTER.replace("01-a", "first"));
        book.fails_with("a listing folder is named NN-slug");
    }

    #[test]
    fn a_missing_file() {
        let book = Book::new();
        let text = CHAPTER.replace("output.txt", "outputs.txt");
        book.write("src/ch01-01-one.md", &text);
        book.has_problem("outputs.txt");
    }

    #[test]
    fn an_unbalanced_anchor() {
        let book = Book::new();
        book.write(
            "listings/ch01-x/01-a/src/main.rs",
            "// ANCHOR: here\nfn main() {}\n// ANCHOR_END: here\n\
             // ANCHOR: open\nfn f() {}\n",
        );
        book.has_problem("open");
    }

    #[test]
    fn an_exercise_starter_shown_as_code_that_runs() {
        let book = Book::new();
        book.write("listings/ch01-x/exercise-02-b/Cargo.toml", "[package]\n");
        book.write(
            "listings/ch01-x/exercise-02-b/src/main.rs",
            "// ANCHOR: here\nfn main() { todo!() }\n// ANCHOR_END: here\n",
        );
        let block = "```rust\n\
            {{#rustdoc_include ../listings/ch01-x/exercise-02-b/src/main.rs:here}}\n\
            ```\n";
        book.write("src/ch01-01-one.md", &format!("{CHAPTER}\n{block}"));
        book.fails_with("is an exercise's starter");
    }

    #[test]
    fn a_fail_listing_shown_as_compiling_code() {
        let book = Book::new();
        book.write("listings/ch01-x/fail-02-b/Cargo.toml", "[package]\n");
        book.write(
            "listings/ch01-x/fail-02-b/src/main.rs",
            "// ANCHOR: here\nfn main() {}\n// ANCHOR_END: here\n",
        );
        let block = "```rust\n\
            {{#rustdoc_include ../listings/ch01-x/fail-02-b/src/main.rs:here}}\n\
            ```\n";
        book.write("src/ch01-01-one.md", &format!("{CHAPTER}\n{block}"));
        book.fails_with("is a fail-* listing: tag its block rust,compile_fail");
    }

    #[test]
    fn a_block_from_outside_the_listings() {
        let book = Book::new();
        book.write("src/code.rs", "fn main() {}\n");
        let block = "```rust\n{{#rustdoc_include code.rs}}\n```\n";
        book.write("src/ch01-01-one.md", &format!("{CHAPTER}\n{block}"));
        book.fails_with("is not inside a listing folder");
    }

    #[test]
    fn a_compile_fail_block_with_a_bad_error_code() {
        let book = Book::new();
        let text = CHAPTER.replace("```rust\n", "```rust,compile_fail,E12\n");
        book.write("src/ch01-01-one.md", &text);
        book.has_problem("is not one of");
    }

    #[test]
    fn workspace_members_by_folder_name() {
        assert!(!is_workspace_member("1é-x"));
        assert!(is_workspace_member("01-a"));
        assert!(is_workspace_member("no-listing-01-a"));
        assert!(is_workspace_member("solution-01-a"));
        assert!(!is_workspace_member("exercise-01-a"));
        assert!(!is_workspace_member("fail-01-a"));
        assert!(!is_workspace_member("first"));
        assert!(!is_workspace_member("01"));
    }
}
