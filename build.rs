//! Sets `CONNTEST_VERSION`: the package version, plus the git commit when the
//! crate is built from its own git checkout (`0.1.0 (3f2c1ab)`), so a bug
//! report says exactly which build it came from. Without git, or outside a
//! checkout (a crates.io tarball), it is the package version alone.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    // Only this crate's own checkout: a tarball unpacked inside some other
    // repository must not report that repository's commit.
    let own_checkout = git(&["rev-parse", "--show-toplevel"], &manifest)
        .and_then(|top| Path::new(&top).canonicalize().ok())
        .is_some_and(|top| manifest.canonicalize().is_ok_and(|m| m == top));
    let commit = own_checkout.then(|| git(&["rev-parse", "--short", "HEAD"], &manifest)).flatten();
    match &commit {
        Some(c) => println!("cargo:rustc-env=CONNTEST_VERSION={version} ({c})"),
        None => println!("cargo:rustc-env=CONNTEST_VERSION={version}"),
    }
    println!("cargo:rerun-if-changed=build.rs");
    if own_checkout {
        // Rebuild the version when HEAD moves: HEAD itself (a checkout), the
        // branch it points to (a commit) and packed refs (a gc).
        for path in [
            git(&["rev-parse", "--git-path", "HEAD"], &manifest),
            git(&["symbolic-ref", "-q", "HEAD"], &manifest)
                .and_then(|r| git(&["rev-parse", "--git-path", &r], &manifest)),
            git(&["rev-parse", "--git-path", "packed-refs"], &manifest),
        ]
        .into_iter()
        .flatten()
        {
            let path = manifest.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
