//! What the integration tests that compare with the reference helm share.

use std::path::{Path, PathBuf};

/// The reference helm binary: `$HELM_BIN`, else the one `scripts/install-helm .tools` puts in
/// the workspace. Panics naming how to get it when it is missing.
pub fn helm_bin() -> PathBuf {
    let p = match std::env::var_os("HELM_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/helm"),
    };
    assert!(
        p.is_file(),
        "the reference helm binary is missing at {}: run `scripts/install-helm .tools` or set HELM_BIN",
        p.display()
    );
    p
}
