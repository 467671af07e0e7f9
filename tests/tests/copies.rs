//! Code that several listings must hold word for word. A listing cannot
//! depend on another by path (it would not survive being copied out), so
//! chapter 4's planet server is one module, repeated in each scraper.

use book_tests::{layout, root};
use std::fs;

/// The module that starts with `first` and ends with the first line that
/// is exactly `}` after it, without its anchor lines: the original shows
/// excerpts in the book, and the copies must not carry unused anchors.
fn module(text: &str, first: &str) -> Option<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| *l == first)?;
    let end = start + lines[start..].iter().position(|l| *l == "}")?;
    let anchor = |l: &&&str| l.trim_start().starts_with("// ANCHOR");
    let kept = lines[start..=end].iter().filter(|l| !anchor(l));
    Some(kept.map(|l| l.to_string()).collect())
}

#[test]
fn every_planet_server_is_the_same() {
    let first = "/// The book's planet server. Every scraper listing of \
                 chapter 4 holds an";
    let chapter = root().join("listings/ch04-scraper");
    let original = chapter.join("01-planet-server/src/main.rs");
    let original = fs::read_to_string(original).unwrap();
    let original = module(&original, first).expect("listing 4-1 lost it");
    let mut copies = 0;
    for dir in layout::listing_dirs(&root().join("listings")) {
        for file in layout::rust_files(&dir.join("src")) {
            let text = fs::read_to_string(&file).unwrap();
            if !text.contains("mod planet_server") {
                continue;
            }
            let rel = file.strip_prefix(root()).unwrap().display();
            let copy = module(&text, first);
            let copy = copy.unwrap_or_else(|| panic!("{rel}: no server"));
            for (n, (a, b)) in original.iter().zip(&copy).enumerate() {
                assert_eq!(a, b, "{rel}: line {} of the module differs", n + 1);
            }
            assert_eq!(original.len(), copy.len(), "{rel}: length differs");
            copies += 1;
        }
    }
    // The original and the sequential, threaded, reactor and tokio
    // scrapers.
    assert!(copies >= 5, "only {copies} planet servers found");
}
