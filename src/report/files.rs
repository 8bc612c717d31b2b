//! Report files (`--junit`, `--har`, `--html`): checked before any request,
//! created readable by the user only, replaced atomically.

use std::path::Path;

use crate::error::Error;

/// Checks up front that a report file can be written (a usage error, exit 2,
/// before any request): its directory is created and must accept a new file.
pub fn check_writable(flag: &str, path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let bad = |why: String| {
        Error::usage(
            format!("{flag} {}: cannot be written ({why})", path.display()),
            Some("choose a writable path".to_string()),
        )
    };
    if path.is_dir() {
        return Err(bad("it is a directory".into()));
    }
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        // A device, a FIFO or a terminal (`/dev/stdout`): written in place,
        // so its directory need not accept new files.
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
    let probe = dir.join(format!(".conntest-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| bad(e.to_string()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Writes a report file that only the user can read, replacing any old one in
/// one step: a temp file (0600) in the same dir, synced, then renamed over it.
/// A reader never sees a half-written report, and an old 0644 file does not
/// keep its mode.
///
/// Only a regular file is replaced: a device, FIFO or terminal (`/dev/null`,
/// `/dev/stdout`, a shell's `>(…)`) is written in place, and a symlink keeps
/// pointing where it did while its target is replaced.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let fail = |source: std::io::Error| Error::Write { path: path.to_path_buf(), source };
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        let mut file = std::fs::OpenOptions::new().write(true).open(path).map_err(fail)?;
        return file.write_all(text.as_bytes()).and_then(|()| file.flush()).map_err(fail);
    }
    let resolved;
    let path = if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        match std::fs::canonicalize(path) {
            Ok(target) => {
                resolved = target;
                resolved.as_path()
            }
            // A dangling link: create its target through it.
            Err(_) => {
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(fail)?;
                return file.write_all(text.as_bytes()).map_err(fail);
            }
        }
    } else {
        path
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut tmp = tempfile::Builder::new().prefix(".conntest-report-").suffix(".tmp").tempfile_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
