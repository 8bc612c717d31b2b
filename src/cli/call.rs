//! `conntest call`'s arguments (clap types only; doc comments are the help text).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct CallArgs {
    /// A connector name or a path to its .yaml file
    #[arg(value_name = "CONNECTOR")]
    pub connector: String,

    /// METHOD (default GET), then the PATH below base_url or a full URL
    #[arg(value_name = "[METHOD] PATH|URL", num_args = 1..=2, required = true)]
    pub request: Vec<String>,

    /// A request header, `Name: value` (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// A JSON request body
    #[arg(long, value_name = "JSON", conflicts_with = "form")]
    pub data: Option<String>,

    /// A form field of an urlencoded body, K=V (repeatable)
    #[arg(long, value_name = "K=V")]
    pub form: Vec<String>,

    /// Run the auth flow first when nothing is cached (in memory with --no-cache or no keyring)
    #[arg(long)]
    pub auth_first: bool,

    /// A Form value for --auth-first: STEP.FIELD=VALUE
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

    /// Variables from DIR/environments/NAME.yaml
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,

    /// Variables from a file shaped like an environment's
    #[arg(long = "vars", value_name = "FILE")]
    pub vars_file: Option<PathBuf>,

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
