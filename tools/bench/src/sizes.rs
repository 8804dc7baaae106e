//! Binary sizes: the arm64 bootstraps of `make build` when every one is present (what Lambda
//! runs), else the host binaries the other measurements run.

use std::path::{Path, PathBuf};

use credentials_core::http::Route;

pub struct Sizes {
    root: PathBuf,
    bin_dir: PathBuf,
    arm64: bool,
}

impl Sizes {
    pub fn find(root: &Path, bin_dir: &Path) -> Self {
        let arm64 = Route::ALL
            .iter()
            .all(|r| bootstrap(root, r.name()).exists())
            && bootstrap(root, "hello-world").exists();
        Self {
            root: root.to_owned(),
            bin_dir: bin_dir.to_owned(),
            arm64,
        }
    }

    /// The target the sizes are of.
    pub fn target(&self) -> &'static str {
        if self.arm64 {
            "aarch64-unknown-linux-gnu"
        } else {
            "x86_64-unknown-linux-gnu"
        }
    }

    /// Size in bytes of binary `name` (0 when missing).
    pub fn bytes(&self, name: &str) -> u64 {
        let path = if self.arm64 {
            bootstrap(&self.root, name)
        } else {
            self.bin_dir.join(name)
        };
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// Whether the host binary `name` carries the KMS client (its service name is in every
    /// KMS request).
    pub fn links_kms(&self, name: &str) -> bool {
        std::fs::read(self.bin_dir.join(name))
            .is_ok_and(|bytes| bytes.windows(12).any(|w| w == b"TrentService"))
    }
}

fn bootstrap(root: &Path, name: &str) -> PathBuf {
    root.join(format!("target/lambda/{name}/bootstrap"))
}
