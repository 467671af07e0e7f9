//! Nothing of its own: building this package gives `mdbook test -L` one
//! build of each crate the book uses (see `book_tests::mdbook_deps_dir`).
