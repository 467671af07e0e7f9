//! Every listing folder, copied out of the repository alone (with the
//! workspace's `Cargo.lock`), builds offline: no `path =` dependency, no
//! `workspace = true`, nothing it needs outside its folder.

use crate::{cargo_in_copy, root};
use std::time::Duration;

pub fn check(rel: &str) {
    let out = cargo_in_copy(
        &root().join(rel),
        &["build", "--offline"],
        Duration::from_secs(300),
    );
    assert!(
        out.status.success(),
        "{rel}, copied alone, does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
