//! Checks the book's structure and generates its tests.
//!
//! 1. Expands every chapter's `{{#include}}` / `{{#rustdoc_include}}`
//!    directives (see `src/expand.rs`) and fails the build, naming the
//!    chapter and the listing, on a missing file, a missing or unbalanced
//!    anchor, an anchor or a listing that no chapter uses, or a Rust block
//!    that does not come from a listing.
//! 2. Hands the expanded copies to skeptic, which turns every Rust block
//!    into a test (`tests/skeptic.rs`).
//! 3. Writes one output test per `output.txt`, one copy-out test per
//!    listing and one test per exercise (`tests/outputs.rs`,
//!    `tests/copy_out.rs`, `tests/exercises.rs`).

#[path = "src/expand.rs"]
#[allow(dead_code)]
mod expand;
#[path = "src/layout.rs"]
mod layout;
#[path = "src/rules.rs"]
mod rules;

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    for watched in ["src", "listings", "book.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let book = out_dir.join("book");
    let checked = rules::check_book(&root);
    let mut skeptic_inputs = Vec::new();
    for (chapter, expanded) in &checked.chapters {
        let copy = book.join(chapter);
        fs::create_dir_all(copy.parent().unwrap()).unwrap();
        write_if_changed(&copy, &expand::for_skeptic(expanded));
        skeptic_inputs.push(copy);
    }

    // Whatever a chapter includes from outside `src/` and `listings/`
    // (the README, which the appendices quote) is watched too.
    let canonical = |p: &Path| p.canonicalize().unwrap_or(p.to_path_buf());
    let src = canonical(&root.join("src"));
    let listings = canonical(&root.join("listings"));
    for used in &checked.uses {
        let file = canonical(&used.file);
        if !file.starts_with(&src) && !file.starts_with(&listings) {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }

    let (errors, listings) = (checked.errors, checked.listings);
    if !errors.is_empty() {
        let mut msg = String::from("the book's sources are not sound:\n");
        for e in &errors {
            let _ = writeln!(msg, "  - {e}");
        }
        panic!("{msg}");
    }

    skeptic::generate_doc_tests(&skeptic_inputs);
    write_listing_tests(&root, &listings, &out_dir);
}

fn test_name(rel: &str) -> String {
    let tail = rel.trim_start_matches("listings/");
    tail.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn write_listing_tests(root: &Path, listings: &[PathBuf], out_dir: &Path) {
    let mut outputs = String::new();
    let mut copy_out = String::new();
    let mut exercises = String::new();
    for dir in listings {
        let rel = dir.strip_prefix(root).unwrap().display().to_string();
        let name = test_name(&rel);
        let folder = dir.file_name().unwrap().to_string_lossy();
        if dir.join("output.txt").is_file() {
            let _ = writeln!(
                outputs,
                "#[test]\nfn {name}() {{\n    \
                 book_tests::outputs::check(\"{rel}\");\n}}\n"
            );
        }
        if folder.starts_with("exercise-") {
            let _ = writeln!(
                exercises,
                "#[test]\nfn {name}() {{\n    \
                 book_tests::exercises::check(\"{rel}\");\n}}\n"
            );
        }
        if !folder.starts_with("fail-") {
            let _ = writeln!(
                copy_out,
                "#[test]\nfn {name}() {{\n    \
                 book_tests::copy_out::check(\"{rel}\");\n}}\n"
            );
        }
    }
    write_if_changed(&out_dir.join("outputs.rs"), &outputs);
    write_if_changed(&out_dir.join("copy_out.rs"), &copy_out);
    write_if_changed(&out_dir.join("exercises.rs"), &exercises);
}

fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).unwrap();
    }
}
