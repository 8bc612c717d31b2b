//! Command-line types only (clap); their doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Test multistep-authentication API connectors: run their sign-in flows,
/// refresh them, cache the results in the OS keyring and call their test API.
#[derive(Debug, Parser)]
#[command(name = "conntest", version = env!("CONNTEST_VERSION"), propagate_version = true, max_term_width = 100)]
#[command(after_help = "Exit codes: 0 passed, 1 a connector failed, 2 usage or invalid connector, \
3 input needed in non-interactive mode (or ended with Ctrl-D), 4 environment problem (keyring, port, nothing \
cached), 130/143 ended by SIGINT/SIGTERM.")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check connector files without touching the network
    Validate {
        /// Connector names or paths (default: every connector in the dir)
        #[arg(value_name = "CONNECTOR|FILE")]
        connectors: Vec<String>,
    },
    /// List connectors: name, cache state, step types, file and description
    List,
    /// Run flows against the real API
    #[command(subcommand)]
    Test(TestCommand),
    /// Inspect or clear cached auth in the OS keyring
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print the JSON Schema of the connector format
    Schema,
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run a bundled demo connector against a built-in loopback demo API
    Demo,
}

#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Run the auth flow, then the test API; cache the outputs
    Auth(TestArgs),
    /// Run the refresh flow on cached outputs, then the test API
    Refresh {
        #[command(flatten)]
        args: TestArgs,
        /// Run the auth flow first when nothing is cached
        #[arg(long)]
        auth_first: bool,
    },
    /// Call the test API with cached outputs (refresh on 401)
    Api(TestArgs),
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

    /// A Form value: STEP.FIELD=VALUE
    #[arg(long = "input", value_name = "STEP.FIELD=VALUE")]
    pub inputs: Vec<String>,

    /// A Form value from an environment variable: STEP.FIELD=ENV_NAME
    #[arg(long = "input-env", value_name = "STEP.FIELD=ENV_NAME")]
    pub input_envs: Vec<String>,

    /// Form values from a YAML file (`-` for stdin): `step: {field: value}`
    #[arg(long = "inputs", value_name = "FILE")]
    pub inputs_file: Option<PathBuf>,

    /// Override a connector variable: NAME=VALUE
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Write a JUnit XML report
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Write every HTTP exchange as HAR 1.2 (secrets masked)
    #[arg(long, value_name = "FILE")]
    pub har: Option<PathBuf>,

    /// Per-request timeout in seconds
    #[arg(long, value_name = "SECS", default_value_t = 30.0, allow_negative_numbers = true)]
    pub timeout: f64,

    /// Print browser URLs instead of opening a browser
    #[arg(long)]
    pub no_browser: bool,

    /// File holding the token for `sso_token` steps
    #[arg(long, value_name = "FILE")]
    pub sso_token_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Show what is cached for a connector (secrets masked unless --reveal)
    Show {
        /// A connector name, a path to its file, or the name of a cached entry whose file is gone
        #[arg(value_name = "CONNECTOR")]
        connector: String,
    },
    /// Remove cached auth for connectors, or everything conntest stored
    Clear {
        /// Connector names (or paths), or names of cached entries whose files are gone
        #[arg(value_name = "CONNECTOR")]
        connectors: Vec<String>,
        /// Remove every item conntest stored, including connectors whose files are gone
        #[arg(long, conflicts_with = "connectors")]
        all: bool,
    },
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
