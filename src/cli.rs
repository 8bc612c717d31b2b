//! Command-line types only (clap); their doc comments are the `--help` text,
//! and each command's examples are its `after_help`.

use std::path::PathBuf;

use clap::builder::StyledStr;
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};

mod call;
mod run_options;
pub use call::CallArgs;
pub use run_options::RunOptions;

/// Test multistep-authentication API connectors: run their sign-in flows,
/// refresh them, cache the results in the OS keyring and call their test API.
#[derive(Debug, Parser)]
#[command(name = "conntest", version = env!("CONNTEST_VERSION"), propagate_version = true, max_term_width = 100)]
#[command(after_help = examples(&[
    ("the first run: a bundled connector against a built-in API, offline", "conntest demo"),
    ("start a connector, check it, sign in with it", "conntest init acme\nconntest validate acme\nconntest test auth acme"),
    ("what is cached, and when (for support)", "conntest list"),
], EXIT_CODES))]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, for the help of the commands that run connectors.
pub const EXIT_CODES: &[(&str, &str)] = &[
    ("0", "every flow and test API call passed"),
    ("1", "a step or the test API failed: the connector does not work"),
    ("2", "usage error, or a connector file is invalid"),
    ("3", "input was needed but cannot be asked for (non-interactive), or the terminal closed"),
    ("4", "environment problem: keyring, lock dir, port, nothing cached"),
    ("5", "the server could not be reached: refused, DNS, TLS, timeout, proxy (a CI job may retry)"),
    ("130, 143", "ended by SIGINT (Ctrl-C) or SIGTERM"),
];

/// Set while parsing a command line that shows no help: the `Examples:`
/// texts (7 % of a short run's instructions) are then left empty.
static NO_HELP_SHOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// An `Examples:` section (and optionally `Exit codes:`) for `after_help`:
/// each example is a comment saying what it does, then the command lines.
fn examples(list: &[(&str, &str)], exit_codes: &[(&str, &str)]) -> StyledStr {
    if NO_HELP_SHOWN.load(std::sync::atomic::Ordering::Relaxed) {
        return StyledStr::new();
    }
    let header = clap::builder::styling::Styles::default().get_header().to_owned();
    let heading = |title: &str| format!("{}{title}{}\n", header.render(), header.render_reset());
    let mut text = heading("Examples:");
    for (i, (what, lines)) in list.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&format!("  # {what}\n"));
        for line in lines.lines() {
            text.push_str(&format!("  {line}\n"));
        }
    }
    if !exit_codes.is_empty() {
        text.push('\n');
        text.push_str(&heading("Exit codes:"));
        let width = exit_codes.iter().map(|(code, _)| code.len()).max().unwrap_or(0);
        for (code, meaning) in exit_codes {
            text.push_str(&format!("  {code:<width$}  {meaning}\n"));
        }
        text.push_str(
            "  With several connectors, the most severe: 2, 1, 3, 4, 5, 0 (a broken connector beats a server down).\n",
        );
    }
    StyledStr::from(text.trim_end().to_string())
}

/// Options every command accepts, before or after its name; each command's
/// help shows only those it uses (see [`command`]).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Directory holding connector files
    #[arg(short = 'd', long, global = true, env = "CONNTEST_DIR", default_value = "connectors", value_name = "DIR")]
    pub dir: PathBuf,

    /// Never prompt (implied when stdin is not a terminal or CI is set)
    #[arg(long, global = true)]
    pub non_interactive: bool,

    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Neither read nor write the OS keyring
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Show each HTTP exchange on stderr (secrets masked)
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Show secrets instead of masking them
    #[arg(long, global = true)]
    pub reveal: bool,

    /// Disable colours (also NO_COLOR)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Also trust the CA certificates in this PEM file (repeatable)
    #[arg(long, global = true, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,

    /// Skip TLS certificate verification (unsafe; warns on every run)
    #[arg(short = 'k', long, global = true)]
    pub insecure: bool,

    /// Client certificate (PEM) for mutual TLS; needs --key (a connector's `tls:` wins)
    #[arg(long, global = true, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM, not encrypted) of --cert
    #[arg(long, global = true, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Send every request through this proxy (overrides HTTPS_PROXY/HTTP_PROXY; NO_PROXY still applies)
    #[arg(long, global = true, value_name = "URL")]
    pub proxy: Option<String>,

    /// Send a request that got no HTTP answer again, up to N times, 1 s, 2 s, 4 s … apart
    #[arg(long, global = true, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retry: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
#[cfg_attr(windows, allow(clippy::large_enum_variant))] // Windows paths are larger; parsed once
pub enum Command {
    /// Check connector files without touching the network
    #[command(after_help = examples(&[
        ("every connector in ./connectors (or --dir DIR, CONNTEST_DIR)", "conntest validate"),
        ("one connector by name, and one file by path", "conntest validate acme connectors/beta.yaml"),
        ("diagnostics as JSON, for an editor or a CI annotation", "conntest validate --format json"),
    ], &[]))]
    Validate {
        /// Connector names or paths (default: every connector in the dir)
        #[arg(value_name = "CONNECTOR|FILE")]
        connectors: Vec<String>,
    },
    /// List connectors: name, cache state, step types, file and description
    #[command(after_help = examples(&[
        ("which connectors have cached auth, and since when", "conntest list"),
        ("the same for a script (`cached` is null when the keyring cannot be read)", "conntest list --format json"),
    ], &[]))]
    List,
    /// Write a commented starter connector DIR/NAME.yaml that passes `validate`
    #[command(after_help = examples(&[
        ("a Form login that returns a bearer token (the default)", "conntest init acme"),
        ("an OAuth 2 sign-in in the browser, in another dir", "conntest init github --type oauth2_pkce --dir api-connectors"),
        ("then check it and run it", "conntest validate acme\nconntest test auth acme"),
    ], &[]))]
    Init {
        /// The connector's name and file stem: lower-case letters, digits, `-` and `_`
        #[arg(value_name = "NAME")]
        name: String,
        /// The kind of sign-in the starter shows
        #[arg(long = "type", value_enum, default_value_t = Starter::Form, value_name = "TYPE")]
        kind: Starter,
    },
    /// Run flows against the real API
    #[command(subcommand, after_help = examples(&[
        ("sign in (prompting for Form values), call the test API, cache the outputs", "conntest test auth acme"),
        ("renew the cached sign-in, then call the test API", "conntest test refresh acme"),
        ("call the test API with what is cached (refreshes on 401)", "conntest test api acme"),
    ], EXIT_CODES))]
    Test(Box<TestCommand>),
    /// Send one request with a connector's cached auth applied (refreshes on 401)
    #[command(after_help = examples(&[
        ("GET a path below the connector's base_url with the cached sign-in", "conntest call acme /v1/users/me"),
        ("POST JSON, with a header", "conntest call acme POST /v1/items -H 'X-Trace: 1' --data '{\"name\": \"x\"}'"),
        ("in CI without a keyring: sign in first, in memory", "conntest call acme /v1/me --auth-first --no-cache --inputs inputs.yaml"),
        ("status, headers and body as JSON", "conntest call acme /v1/me --format json"),
    ], &[
        ("0", "the answer was 2xx"),
        ("1", "another status, or the refresh failed"),
        ("2", "usage error, or the connector file is invalid"),
        ("3", "--auth-first needed an input that cannot be asked for"),
        ("4", "nothing cached (sign in with `conntest test auth`, or pass --auth-first), keyring unreachable"),
        ("5", "the server could not be reached"),
    ]))]
    Call(Box<CallArgs>),
    /// Inspect or clear cached auth in the OS keyring
    #[command(subcommand, after_help = examples(&[
        ("what is cached for a connector: tokens, expiry, cookies (secrets masked)", "conntest cache show acme"),
        ("sign a connector out, or remove everything conntest stored", "conntest cache clear acme\nconntest cache clear --all"),
    ], &[]))]
    Cache(CacheCommand),
    /// Print the JSON Schema of the connector format
    #[command(after_help = examples(&[
        ("save it beside the connectors; editors read it through the first line\n  # `# yaml-language-server: $schema=./connector.schema.json`",
         "conntest schema > connectors/connector.schema.json"),
        ("the schema of `conntest test … --format json` results, for a CI step that reads them",
         "conntest schema --results > results.schema.json"),
    ], &[]))]
    Schema {
        /// Print the schema of the JSON test results instead
        #[arg(long)]
        results: bool,
    },
    /// Print a shell completion script
    #[command(after_help = examples(&[
        ("bash: loaded on demand by bash-completion", "conntest completions bash > ~/.local/share/bash-completion/completions/conntest"),
        ("zsh: a directory on $fpath (add `fpath=(~/.zfunc $fpath)` before `compinit` in ~/.zshrc)",
         "mkdir -p ~/.zfunc && conntest completions zsh > ~/.zfunc/_conntest"),
        ("fish", "conntest completions fish > ~/.config/fish/completions/conntest.fish"),
        ("PowerShell: load it from your profile", "conntest completions powershell >> $PROFILE"),
        ("elvish: then `use conntest` in ~/.config/elvish/rc.elv", "conntest completions elvish > ~/.config/elvish/lib/conntest.elv"),
    ], &[]))]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout
    #[command(after_help = examples(&[
        ("read it now", "conntest man | man -l -"),
        ("install it for `man conntest`", "mkdir -p ~/.local/share/man/man1 && conntest man > ~/.local/share/man/man1/conntest.1"),
    ], &[]))]
    Man,
    /// Run a bundled demo connector against a built-in loopback demo API
    #[command(after_help = examples(&[
        ("sign in, call the test API, expire the token, refresh: all offline", "conntest demo"),
        ("the demo's connector file, to start your own from it", "conntest demo --print > connectors/demo.yaml"),
    ], &[]))]
    Demo {
        /// Print the demo connector's YAML instead of running it
        #[arg(long)]
        print: bool,
    },
}

/// What `conntest init --type` writes: a Form login by default, or a starter
/// built around one step type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Starter {
    /// A Form, then an API request that logs in and returns a token
    #[value(alias = "api_request")]
    Form,
    /// HTTP Basic credentials from a Form
    BasicAuth,
    /// OAuth 2 authorization code in the browser (confidential client)
    Oauth2,
    /// OAuth 2 authorization code with PKCE in the browser (public client)
    Oauth2Pkce,
    /// OAuth 2 client credentials (machine to machine)
    Oauth2ClientCredentials,
    /// OAuth 2 device flow: a code entered on any device (RFC 8628)
    Oauth2Device,
    /// A signed JWT assertion exchanged for a token (RFC 7523)
    JwtBearer,
    /// A browser redirect whose query parameters become outputs
    Callback,
    /// A token the user already has (--sso-token-file)
    SsoToken,
    /// Password, then a TOTP second factor
    Totp,
    /// A value computed in a sandboxed JavaScript step
    Js,
    /// OAuth 1.0a three-legged, resource calls signed
    Oauth1,
    /// Windows authentication (NTLM)
    Ntlm,
}

#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Run the auth flow, then the test API; cache the outputs
    #[command(after_help = examples(&[
        ("sign in, prompting for the Form values", "conntest test auth acme"),
        ("in CI: no prompt, the password from an environment variable, a JUnit report",
         "conntest test auth acme --input login_form.email=ci@example.com \\\n    --input-env login_form.password=ACME_PASSWORD --junit reports/conntest.xml"),
        ("every connector in the dir, this job's quarter of them", "conntest test auth --all --shard 1/4"),
    ], EXIT_CODES))]
    Auth(TestArgs),
    /// Run the refresh flow on cached outputs, then the test API
    #[command(after_help = examples(&[
        ("renew the cached sign-in (refresh token, or the auth flow again)", "conntest test refresh acme"),
        ("in CI, where nothing is cached yet: sign in first", "conntest test refresh acme --auth-first --inputs inputs.yaml"),
        ("in CI without a keyring: the auth outputs stay in memory", "conntest test refresh acme --auth-first --no-cache --inputs inputs.yaml"),
    ], EXIT_CODES))]
    Refresh {
        #[command(flatten)]
        args: TestArgs,
        /// Run the auth flow first when nothing is cached (in memory with --no-cache or no keyring)
        #[arg(long)]
        auth_first: bool,
    },
    /// Call the test API with cached outputs (refresh on 401)
    #[command(after_help = examples(&[
        ("do the cached credentials still work?", "conntest test api acme"),
        ("every connector, each HTTP exchange shown (secrets masked)", "conntest test api --all -v"),
        ("in CI without a keyring: sign in first, keep the outputs in memory", "conntest test api acme --auth-first --no-cache --inputs inputs.yaml"),
    ], EXIT_CODES))]
    Api {
        #[command(flatten)]
        args: TestArgs,
        /// Run the auth flow first when nothing is cached (in memory with --no-cache or no keyring)
        #[arg(long)]
        auth_first: bool,
    },
    /// Auth flow, test API, refresh flow, update_variables, test API again: one run
    #[command(after_help = examples(&[
        ("prove sign-in and refresh both work, then cache the result", "conntest test lifecycle acme --inputs inputs.yaml"),
        ("in CI without a keyring", "conntest test lifecycle --all --no-cache --format json > results.json"),
    ], EXIT_CODES))]
    Lifecycle(TestArgs),
    /// Anything else where the flow belongs (`conntest test acme`): answered
    /// with the command that was probably meant.
    #[command(external_subcommand)]
    Other(Vec<String>),
}

#[derive(Debug, Clone, Args)]
pub struct TestArgs {
    /// Connector names or paths to .yaml files
    #[arg(value_name = "CONNECTOR", required_unless_present = "all")]
    pub connectors: Vec<String>,

    /// Every connector in the dir
    #[arg(long, conflicts_with = "connectors")]
    pub all: bool,

    /// Connectors run concurrently (default: number of CPUs)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Run only the K-th of N stable partitions of the selected connectors (CI matrices)
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,

    #[command(flatten)]
    pub run: RunOptions,

    /// Write a JUnit XML report
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Write every HTTP exchange as HAR 1.2 (secrets masked)
    #[arg(long, value_name = "FILE")]
    pub har: Option<PathBuf>,

    /// Write a self-contained HTML report: each connector's steps and exchanges (masked)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Show what is cached for a connector (secrets masked unless --reveal)
    #[command(after_help = examples(&[
        ("a summary (tokens, expiry, cookies), then the masked entry", "conntest cache show acme"),
        ("the entry with its secrets, as JSON", "conntest cache show acme --reveal --format json"),
    ], &[]))]
    Show {
        /// A connector name, a path to its file, or the name of a cached entry whose file is gone
        #[arg(value_name = "CONNECTOR")]
        connector: String,
    },
    /// Remove cached auth for connectors, or everything conntest stored
    #[command(after_help = examples(&[
        ("sign two connectors out", "conntest cache clear acme beta"),
        ("remove every item conntest stored, of connectors whose files are gone too", "conntest cache clear --all"),
    ], &[]))]
    Clear {
        /// Connector names (or paths), or names of cached entries whose files are gone
        #[arg(value_name = "CONNECTOR")]
        connectors: Vec<String>,
        /// Remove every item conntest stored, including connectors whose files are gone
        #[arg(long, conflicts_with = "connectors")]
        all: bool,
    },
}

/// The global options each command uses; the others are still accepted (a
/// script may pass the same options to every command) but not shown in that
/// command's help, which lists no option that does nothing there.
const USED_GLOBALS: &[(&str, &[&str])] = &[
    ("validate", &["dir", "format", "no_color"]),
    ("list", &["dir", "format", "no_cache", "no_color"]),
    ("init", &["dir", "format", "no_color"]),
    ("cache show", &["dir", "format", "no_cache", "reveal", "no_color"]),
    ("cache clear", &["dir", "format", "no_cache", "no_color"]),
    ("schema", &[]),
    ("completions", &[]),
    ("man", &[]),
    ("demo", &["format", "no_cache", "non_interactive", "verbose", "reveal", "no_color"]),
];

/// The clap command, with each subcommand's help limited to the options it uses.
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd.get_arguments().filter(|a| a.is_global_set()).cloned().collect();
    hide_unused(cmd, "", &globals)
}

/// Gives each listed subcommand (below `path`) a hidden copy of the global
/// options it does not use: clap propagates a global option only to a
/// subcommand that lacks one of that id, and the copy's value (same id)
/// still reaches [`Global`]. Subcommands keep their order.
fn hide_unused(cmd: clap::Command, path: &str, globals: &[clap::Arg]) -> clap::Command {
    cmd.mut_subcommands(|sub| {
        let path = format!("{path} {}", sub.get_name()).trim_start().to_string();
        match USED_GLOBALS.iter().find(|(p, _)| *p == path) {
            Some((_, used)) => {
                sub.args(globals.iter().filter(|a| !used.contains(&a.get_id().as_str())).map(|a| a.clone().hide(true)))
            }
            None => hide_unused(sub, &path, globals),
        }
    })
}

/// Parses the process's arguments (exits with clap's message on a usage error).
pub fn parse() -> Cli {
    // `--version` alone needs none of the command tree (a third of a short
    // run's start-up): print what clap would and stop.
    let mut args = std::env::args_os().skip(1);
    if let (Some(flag), None) = (args.next(), args.next())
        && (flag == "--version" || flag == "-V")
    {
        print!("{}", version_line());
        std::process::exit(0);
    }
    // First the bare tree: no help texts, and no per-subcommand hidden copies
    // of the global options (they only shape help; clap accepts the same
    // command lines without them). Anything but a clean parse — help asked
    // for, a usage error — is parsed again with the full tree, whose messages
    // and help are the ones users see.
    NO_HELP_SHOWN.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut cmd = Cli::command();
    let matches = match cmd.try_get_matches_from_mut(std::env::args_os()) {
        Ok(matches) => matches,
        Err(e) => {
            NO_HELP_SHOWN.store(false, std::sync::atomic::Ordering::Relaxed);
            command().get_matches();
            e.exit()
        }
    };
    NO_HELP_SHOWN.store(false, std::sync::atomic::Ordering::Relaxed);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command()).exit());
    // Dropping clap's tree and matches costs an eighth of a short run; the
    // process needs neither again.
    std::mem::forget((cmd, matches));
    cli
}

/// What `conntest --version` prints.
fn version_line() -> String {
    format!("conntest {}\n", env!("CONNTEST_VERSION"))
}

/// `K/N` with 1 ≤ K ≤ N.
fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not K/N with 1 ≤ K ≤ N (e.g. 2/4)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    /// The `--version` short cut prints exactly what clap would.
    #[test]
    fn the_quick_version_line_is_claps() {
        assert_eq!(super::version_line(), super::command().render_version());
    }
}
