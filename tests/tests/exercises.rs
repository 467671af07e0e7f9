//! One test per exercise: see `book_tests::exercises`.
include!(concat!(env!("OUT_DIR"), "/exercises.rs"));
