//! Where the book keeps its listings. Compiled by the build script
//! (through `#[path]`) and as a module of the `book-tests` library.

use std::fs;
use std::path::{Path, PathBuf};

/// `listings/chNN-topic/<folder>` for every listing, sorted.
pub fn listing_dirs(listings: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for chapter in fs::read_dir(listings).into_iter().flatten().flatten() {
        for listing in fs::read_dir(chapter.path()).into_iter().flatten() {
            let listing = listing.unwrap().path();
            if listing.join("Cargo.toml").is_file() {
                dirs.push(listing);
            }
        }
    }
    dirs.sort();
    dirs
}

/// The `.rs` files below `dir`, leaving out any `target/`, sorted.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() && entry.file_name() != "target" {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}
