//! One test per listing folder: see `book_tests::copy_out`.
include!(concat!(env!("OUT_DIR"), "/copy_out.rs"));
