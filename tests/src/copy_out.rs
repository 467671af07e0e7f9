//! Every listing folder, copied out of the repository alone (with the
//! workspace's `Cargo.lock`), builds offline: no `path =` dependency, no
//! `workspace = true`, nothing it needs outside its folder.

use crate::{cargo, copy_listing, root, run_with_timeout, target_dir};
use std::time::Duration;

pub fn check(rel: &str) {
    let dir = root().join(rel);
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join(dir.file_name().unwrap());
    copy_listing(&dir, &copy);
    let mut cmd = cargo();
    // Sharing the workspace's target directory reuses its builds of the
    // dependencies: only the listing itself compiles again.
    cmd.current_dir(&copy)
        .args(["build", "--offline"])
        .env("CARGO_TARGET_DIR", target_dir());
    let out = run_with_timeout(cmd, Duration::from_secs(300));
    assert!(
        out.status.success(),
        "{rel}, copied alone to {}, does not build:\n{}",
        copy.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
