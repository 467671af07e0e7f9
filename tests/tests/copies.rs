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

/// The lines from the one that is `first` to the first line that is
/// exactly `}` after the line that starts with `last`.
fn block(text: &str, first: &str, last: &str) -> Option<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| *l == first)?;
    let last =
        start + lines[start..].iter().position(|l| l.starts_with(last))?;
    let end = last + lines[last..].iter().position(|l| *l == "}")?;
    Some(lines[start..=end].iter().map(|l| l.to_string()).collect())
}

#[test]
fn every_scraper_decodes_with_the_same_code() {
    // `decode`, `charset` and `meta`, shown in Section 4.2 and copied
    // into each scraper of chapter 4.
    let first =
        "/// The text of an HTML body, decoded as a browser decodes it: by its";
    let chapter = root().join("listings/ch04-scraper");
    let original =
        fs::read_to_string(chapter.join("02-sequential/src/main.rs"));
    let original = block(&original.unwrap(), first, "fn meta(");
    let original = original.expect("listing 4-2 lost `decode`");
    for copy in ["03-threads", "04-reactor", "05-tokio"] {
        let text = fs::read_to_string(chapter.join(copy).join("src/main.rs"));
        let copy_block = block(&text.unwrap(), first, "fn meta(");
        let copy_block =
            copy_block.unwrap_or_else(|| panic!("{copy}: no decode"));
        assert_eq!(original, copy_block, "{copy}: `decode` differs from 4-2's");
    }
}
