//! Opening a URL in the user's browser: one small function per platform.
//! On Linux, `BROWSER` names the program, run with the URL as its one argument.

use std::process::{Command, Stdio};

/// Starts the browser on `url` without waiting for it; says why it could not.
pub fn open(url: &str) -> Result<String, String> {
    let (program, mut cmd) = command(url)?;
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {program}: {e}"))?;
    // Reap it whenever it ends; a browser may outlive this process.
    std::thread::spawn(move || child.wait());
    Ok(program)
}

#[cfg(all(unix, not(target_os = "macos")))]
fn command(url: &str) -> Result<(String, Command), String> {
    if let Some(program) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        let mut cmd = Command::new(&program);
        cmd.arg(url);
        return Ok((program.to_string_lossy().into_owned(), cmd));
    }
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join("xdg-open").is_file()))
        .unwrap_or(false);
    if !found {
        return Err("no browser to open: BROWSER is not set and xdg-open is not installed".into());
    }
    let mut cmd = Command::new("xdg-open");
    cmd.arg(url);
    Ok(("xdg-open".into(), cmd))
}

#[cfg(target_os = "macos")]
fn command(url: &str) -> Result<(String, Command), String> {
    let mut cmd = Command::new("open");
    cmd.arg(url);
    Ok(("open".into(), cmd))
}

#[cfg(windows)]
fn command(url: &str) -> Result<(String, Command), String> {
    let mut cmd = Command::new("rundll32");
    cmd.args(["url.dll,FileProtocolHandler", url]);
    Ok(("the default browser".into(), cmd))
}
