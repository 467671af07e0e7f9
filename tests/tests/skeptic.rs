//! Every Rust block of every chapter, compiled (and, unless `no_run`, run)
//! by skeptic from the expanded copies the build script made.
include!(concat!(env!("OUT_DIR"), "/skeptic-tests.rs"));
