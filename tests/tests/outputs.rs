//! One test per `output.txt`: see `book_tests::outputs`.
include!(concat!(env!("OUT_DIR"), "/outputs.rs"));
