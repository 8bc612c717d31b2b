//! `Conntest`: run the real binary with a clean environment and a temp connector dir.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `conntest` binary under test, checked once to be the one built beside this test binary.
pub fn bin() -> PathBuf {
    static CHECKED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CHECKED.get_or_init(|| same_build(Path::new(env!("CARGO_BIN_EXE_conntest")))).clone()
}

/// Panics unless `bin` sits in the profile dir (`target/debug`) this test binary runs
/// from (`target/debug/deps`). Cargo bakes the binary's absolute path in at build time,
/// so a test binary run from a copied or moved tree (cargo-mutants copies one) would
/// otherwise test the original build, and every change in the copy would go unseen.
fn same_build(bin: &Path) -> PathBuf {
    let exe = std::env::current_exe().expect("the path of the running test binary");
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let ours = exe.parent().and_then(Path::parent).map(canonical);
    let theirs = bin.parent().map(canonical);
    assert!(
        ours.is_some() && ours == theirs,
        "the conntest binary under test ({}) is not in the target dir of this test binary ({}): \
         it is another build (a copied or moved tree?); rebuild with `cargo test` in this tree",
        bin.display(),
        exe.display()
    );
    bin.to_path_buf()
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Self {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// A builder for one invocation of `conntest`.
pub struct Conntest {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Conntest {
    pub fn new() -> Self {
        Conntest { dir: tempfile::tempdir().expect("temp dir"), args: Vec::new(), env: Vec::new() }
    }

    /// Writes `connectors/NAME.yaml` in this invocation's dir.
    pub fn connector(self, name: &str, yaml: &str) -> Self {
        let dir = self.dir.path().join("connectors");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(format!("{name}.yaml")), yaml).expect("write connector");
        self
    }

    pub fn file(self, name: &str, text: &str) -> Self {
        std::fs::write(self.dir.path().join(name), text).expect("write file");
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.current_dir(self.dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("CONNTEST_VAR_") || k == "CONNTEST_DIR" {
                cmd.env_remove(k);
            }
        }
        cmd.env("CI", "true").env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.args(&self.args);
        cmd.stdin(std::process::Stdio::null());
        cmd
    }

    pub fn run(&self) -> Output {
        self.command().output().expect("run conntest").into()
    }
}

/// A connector name no other test uses (the keyring is shared by all tests).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Whether the test runs inside `tests/keyring-session.sh` (a real unlocked Secret Service).
pub fn keyring_ready() -> bool {
    std::env::var("CONNTEST_KEYRING_READY").is_ok_and(|v| v == "1")
}

/// Tests that need the real peers fail loudly rather than pass without them.
pub fn require_keyring() {
    assert!(keyring_ready(), "needs a real Secret Service: run the suite with `bash tests/run.sh`");
}

#[test]
#[should_panic(expected = "is not in the target dir of this test binary")]
fn a_conntest_binary_of_another_build_is_refused() {
    same_build(Path::new("/elsewhere/target/debug/conntest"));
}

/// The Secret Service a test talks to: the suite's shared one, or one of its own
/// (used by the Unix-only `cache_safety`).
#[cfg(unix)]
pub struct Keyring {
    /// `DBUS_SESSION_BUS_ADDRESS` of a private session; `None` for the shared one.
    bus: Option<String>,
    /// The background `tests/keyring-session.sh`; it ends when its stdin closes.
    session: Option<std::process::Child>,
}

#[cfg(unix)]
impl Keyring {
    /// The suite's keyring (`tests/run.sh` runs every test inside one session).
    pub fn shared() -> Keyring {
        require_keyring();
        Keyring { bus: None, session: None }
    }

    /// A keyring of this test's own, for tests that kill conntest mid-save:
    /// gnome-keyring-daemon 42 can crash when a client vanishes in the middle of
    /// a call (its log says `gkd_secret_service_get_pkcs11_session: assertion
    /// 'client' failed`), and that must not fail the tests sharing the suite's
    /// keyring. The session restarts a crashed daemon, unlocked, with the same
    /// keyring file on disk — as a desktop's service manager would.
    pub fn private() -> Keyring {
        use std::io::BufRead as _;
        use std::process::Stdio;
        require_keyring();
        let script = std::env::var("CONNTEST_KEYRING_SESSION").expect("CONNTEST_KEYRING_SESSION (run tests/run.sh)");
        let mut session = Command::new(script)
            .args(["--", "sh", "-c", "echo \"$DBUS_SESSION_BUS_ADDRESS\"; exec cat >/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/keyring-session.sh");
        let mut bus = String::new();
        let stdout = session.stdout.take().expect("session stdout");
        std::io::BufReader::new(stdout).read_line(&mut bus).expect("read the session's bus address");
        let bus = bus.trim().to_string();
        assert!(bus.starts_with("unix:"), "tests/keyring-session.sh printed no bus address: {bus:?}");
        Keyring { bus: Some(bus), session: Some(session) }
    }

    /// A `secret-tool` command against this keyring.
    pub fn secret_tool(&self) -> Command {
        self.on_bus("secret-tool")
    }

    /// `program` run on this keyring's session bus.
    pub fn on_bus(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        if let Some(bus) = &self.bus {
            cmd.env("DBUS_SESSION_BUS_ADDRESS", bus);
        }
        cmd
    }

    /// `t` with every run pointed at this keyring.
    pub fn conntest(&self, t: Conntest) -> Conntest {
        match &self.bus {
            Some(bus) => t.env("DBUS_SESSION_BUS_ADDRESS", bus),
            None => t,
        }
    }
}

#[cfg(unix)]
impl Drop for Keyring {
    fn drop(&mut self) {
        if let Some(mut session) = self.session.take() {
            drop(session.stdin.take());
            let _ = session.wait();
        }
    }
}
