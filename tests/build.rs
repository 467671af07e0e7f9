//! Checks the book's structure and generates its tests.
//!
//! 1. Expands every chapter's `{{#include}}` / `{{#rustdoc_include}}`
//!    directives (see `src/expand.rs`) and fails the build, naming the
//!    chapter and the listing, on a missing file, a missing or unbalanced
//!    anchor, an anchor or a listing that no chapter uses, or a Rust block
//!    that does not come from a listing.
//! 2. Hands the expanded copies to skeptic, which turns every Rust block
//!    into a test (`tests/skeptic.rs`).
//! 3. Writes one output test per `output.txt` and one copy-out test per
//!    listing (`tests/outputs.rs`, `tests/copy_out.rs`).

#[path = "src/expand.rs"]
#[allow(dead_code)]
mod expand;
#[path = "src/layout.rs"]
mod layout;

use std::collections::{BTreeMap, BTreeSet};
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

    let mut errors = Vec::new();
    let book = out_dir.join("book");

    let src = root.join("src");
    let chapters = chapters(&src, &mut errors);
    let mut uses = Vec::new();
    let mut skeptic_inputs = Vec::new();
    for chapter in &chapters {
        let text = fs::read_to_string(src.join(chapter)).unwrap();
        let name = chapter.display().to_string();
        check_blocks(&src, &name, &text, &mut errors);
        let expanded = expand::expand_chapter(&src, chapter, &text);
        errors.extend(expanded.errors);
        uses.extend(expanded.uses);
        let copy = book.join(chapter);
        fs::create_dir_all(copy.parent().unwrap()).unwrap();
        write_if_changed(&copy, &expand::for_skeptic(&expanded.content));
        skeptic_inputs.push(copy);
    }

    // Whatever a chapter includes from outside `src/` and `listings/`
    // (the README, which the appendices quote) is watched too.
    for used in &uses {
        let file = used.file.canonicalize().unwrap_or(used.file.clone());
        if !file.starts_with(&src) && !file.starts_with(root.join("listings")) {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }

    let listings = layout::listing_dirs(&root.join("listings"));
    check_listings(&root, &listings, &uses, &mut errors);

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

/// Every chapter file under `src/`, which must be exactly the files that
/// `SUMMARY.md` links to: mdBook would otherwise create an empty page for
/// a missing one, or silently leave an unlinked one out.
fn chapters(src: &Path, errors: &mut Vec<String>) -> Vec<PathBuf> {
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
fn check_blocks(
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
        // Only these names are workspace members (see the root Cargo.toml),
        // and only a member is compiled before the tests run: skeptic would
        // pass a `should_panic` block that does not compile.
        let is_member = folder.as_deref().is_some_and(|f| {
            let f = f.strip_prefix("no-listing-").unwrap_or(f);
            f.len() > 3
                && f[..2].bytes().all(|b| b.is_ascii_digit())
                && f.as_bytes()[2] == b'-'
        });
        if !is_fail && !is_member && folder.is_some() {
            errors.push(format!(
                "{at}: {path}: a listing folder is named NN-slug, \
                 no-listing-NN-slug or fail-NN-slug"
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
fn check_listings(
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

fn test_name(rel: &str) -> String {
    let tail = rel.trim_start_matches("listings/");
    tail.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn write_listing_tests(root: &Path, listings: &[PathBuf], out_dir: &Path) {
    let mut outputs = String::new();
    let mut copy_out = String::new();
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
}

fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).unwrap();
    }
}
