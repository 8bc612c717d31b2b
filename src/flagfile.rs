//! Files named by flags or environment variables (`--sso-token-file`,
//! `--cacert`, `SSL_CERT_FILE`): read with a size cap, and a FIFO, device or
//! directory refused with a clear message instead of blocking the run or
//! filling its memory (`/dev/zero`).

use std::io::Read as _;
use std::path::Path;

/// The most a certificate file (`--cacert`, `SSL_CERT_FILE`) may hold: a
/// system CA bundle is a few hundred KiB.
pub const MAX_CERT_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Checks that `path` (named by `what`) is a regular file of at most `max` bytes.
pub fn check(what: &str, path: &Path, max: u64) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if !meta.is_file() {
        let kind = if meta.is_dir() { "a directory" } else { "not a regular file (a FIFO or a device?)" };
        return Err(format!("{what} {}: {kind}; name a file", path.display()));
    }
    if meta.len() > max {
        return Err(format!(
            "{what} {}: {} bytes, more than the {} KiB such a file holds",
            path.display(),
            meta.len(),
            max / 1024
        ));
    }
    Ok(())
}

/// Reads `path` after [`check`], never more than `max` bytes (the file may grow meanwhile).
pub fn read(what: &str, path: &Path, max: u64) -> Result<Vec<u8>, String> {
    check(what, path, max)?;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(format!("{what} {}: more than the {} KiB such a file holds", path.display(), max / 1024));
    }
    Ok(bytes)
}
