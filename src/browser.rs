//! Opening a URL in the user's browser: one small function per platform.
//! On Linux, `BROWSER` names the program, run with the URL as its one argument.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an opener is watched for a quick failure: `xdg-open`, or a
/// `BROWSER` script that cannot start the browser, exits non-zero within it.
pub const OPENER_GRACE: Duration = Duration::from_millis(1500);

/// A started opener, watched for [`OPENER_GRACE`] without holding anyone up.
pub struct Opened {
    pub program: String,
    failure: Arc<Mutex<Option<String>>>,
}

impl Opened {
    /// Why the opener failed, once it has exited non-zero within the grace time.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }
}

/// Starts the browser on `url` without waiting for it; says why it could not
/// be started. A program that exits non-zero soon after shows in [`Opened::failure`].
pub fn open(url: &str) -> Result<Opened, String> {
    let (program, mut cmd) = command(url)?;
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {program}: {e}"))?;
    let failure = Arc::new(Mutex::new(None));
    let (seen, name) = (failure.clone(), program.clone());
    // Watch it for a while, then reap it whenever it ends; a browser may outlive this process.
    std::thread::spawn(move || {
        let deadline = Instant::now() + OPENER_GRACE;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(status)) => {
                    if !status.success()
                        && let Ok(mut f) = seen.lock()
                    {
                        *f = Some(format!("{name} failed ({status})"));
                    }
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(25)),
                Err(_) => break,
            }
        }
        let _ = child.wait();
    });
    Ok(Opened { program, failure })
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
