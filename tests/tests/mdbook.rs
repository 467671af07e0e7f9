//! `mdbook test`, through the mdBook library itself, and a check that the
//! build script expands chapters exactly as mdBook does.

use book_tests::{expand, mdbook_deps_dir, root};
use mdbook_driver::MDBook;
use mdbook_driver::book::BookItem;
use mdbook_driver::builtin_renderers::MarkdownRenderer;

/// What `mdbook test -L target/mdbook-deps` does: rustdoc compiles and runs
/// every Rust block of every chapter with the book's edition (2024), and
/// checks that `compile_fail` blocks fail with the error code they name.
#[test]
fn mdbook_test() {
    let deps = mdbook_deps_dir();
    let mut book = MDBook::load(root()).expect("cannot load the book");
    if let Err(e) = book.test(vec![deps.to_str().unwrap()]) {
        panic!("mdbook test failed (rustdoc's output is above): {e:#}");
    }
}

/// skeptic tests the build script's expansion of each chapter; this makes
/// sure it is the text mdBook itself renders and tests.
#[test]
fn expansion_matches_mdbook() {
    let book = MDBook::load(root()).expect("cannot load the book");
    let (preprocessed, _) = book
        .preprocess_book(&MarkdownRenderer::new())
        .expect("mdBook cannot preprocess the book");
    let src = root().join("src");
    let mut chapters = 0;
    for item in preprocessed.iter() {
        let BookItem::Chapter(ch) = item else {
            continue;
        };
        let Some(path) = &ch.path else { continue };
        let raw = std::fs::read_to_string(src.join(path)).unwrap();
        let ours = expand::expand_chapter(&src, path, &raw);
        assert!(ours.errors.is_empty(), "{:?}", ours.errors);
        assert_eq!(
            ours.content,
            ch.content,
            "{}: our expansion differs from mdBook's",
            path.display()
        );
        chapters += 1;
    }
    assert!(chapters > 0, "the book has no chapters");
}

/// The same comparison on a scratch book full of edge cases of the forms
/// the book uses: nested and escaped directives, anchors inside anchors,
/// whole files. Then the forms it refuses, each with its error: line
/// ranges, `playground`, `title`, a missing file and a missing anchor
/// (which mdBook renders without complaint).
#[test]
fn expansion_matches_mdbook_on_edge_cases() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("book.toml", "[book]\ntitle = \"t\"\n");
    write(
        "src/SUMMARY.md",
        "[a](a.md)\n- [b](part/b.md)\n- [c](c.md)\n",
    );
    write(
        "code/main.rs",
        "use std::fmt;\n// ANCHOR: all\n// ANCHOR: here\nfn main() {\n    \
         // ANCHOR: inner\n    println!(\"hi\");\n    \
         // ANCHOR_END: inner\n}\n// ANCHOR_END: here\n// ANCHOR_END: all\n\
         #[cfg(test)]\nmod tests {}\n",
    );
    write(
        "code/nested.md",
        "before\n{{#include main.rs:inner}}\nafter\n",
    );
    write(
        "src/a.md",
        "# A\n\n```rust\n{{#rustdoc_include ../code/main.rs:here}}\n```\n\n\
         ```rust\n{{#rustdoc_include ../code/main.rs:inner}}\n```\n\n\
         ```rust\n{{#rustdoc_include ../code/main.rs}}\n```\n\n\
         {{#include ../code/nested.md}}\n\n\
         `\\{{#include ../code/main.rs:here}}` stays text.\n",
    );
    write("src/part/b.md", "# B\n{{ #include ../../code/main.rs }}\n");
    let refused = [
        ("{{#include ../code/main.rs:2:4}}", "line ranges"),
        ("{{#rustdoc_include ../code/main.rs:3}}", "line ranges"),
        ("{{#include ../code/main.rs::3}}", "line ranges"),
        ("{{#playground ../code/main.rs}}", "`playground`"),
        ("{{#title Other}}", "`title`"),
        ("{{#title Another Title}}", "`title`"),
        ("{{#playground ../code/main.rs editable}}", "`playground`"),
        (
            "{{#include ../code/main.rs:here:extra}}",
            "follow an anchor",
        ),
        ("{{#include ../code/missing.rs}}", "missing.rs"),
        ("{{#include ../code/main.rs:nope}}", "no anchor `nope`"),
    ];
    let c: String = refused.iter().map(|(d, _)| format!("{d}\n\n")).collect();
    write("src/c.md", &format!("# C\n\n{c}"));

    let book = MDBook::load(root).unwrap();
    let (preprocessed, _) =
        book.preprocess_book(&MarkdownRenderer::new()).unwrap();
    let src = root.join("src");
    let mut chapters = 0;
    for item in preprocessed.iter() {
        let BookItem::Chapter(ch) = item else {
            continue;
        };
        let path = ch.path.as_ref().unwrap();
        let raw = std::fs::read_to_string(src.join(path)).unwrap();
        let ours = expand::expand_chapter(&src, path, &raw);
        if path.ends_with("c.md") {
            assert_eq!(ours.errors.len(), refused.len(), "{:?}", ours.errors);
            for ((directive, why), error) in refused.iter().zip(&ours.errors) {
                assert!(
                    error.contains(directive) && error.contains(why),
                    "{directive}: {error}"
                );
            }
        } else {
            assert!(ours.errors.is_empty(), "{:?}", ours.errors);
            assert_eq!(ours.content, ch.content, "{}", path.display());
        }
        chapters += 1;
    }
    assert_eq!(chapters, 3);
}

/// `mdbook build` renders the book without a single warning or error, and
/// every link inside the rendered book resolves (`book_tests::links`).
#[test]
fn mdbook_build_is_clean() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Log {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tempfile::tempdir().unwrap();
    let result = tracing::subscriber::with_default(subscriber, || {
        let mut book = MDBook::load(root())?;
        book.config.build.build_dir = out.path().to_path_buf();
        book.build()
    });
    let logged = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    assert!(result.is_ok(), "mdbook build failed: {result:?}\n{logged}");
    assert!(logged.is_empty(), "mdbook build logged:\n{logged}");
    assert!(out.path().join("ch01-02-losing-updates.html").is_file());
    let broken = book_tests::links::broken(out.path());
    assert!(
        broken.is_empty(),
        "links in the rendered book that go nowhere:\n{}",
        broken.join("\n")
    );
}
