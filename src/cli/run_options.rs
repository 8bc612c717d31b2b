//! What a run is given besides its connectors — Form inputs, variables,
//! environments, timeouts, the browser — shared by `test` and `call` (clap
//! types only; doc comments are the help text).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct RunOptions {
    /// A Form value, for one connector with CONNECTOR: (a password needs it when several run)
    #[arg(long = "input", value_name = "[CONNECTOR:]STEP.FIELD=VALUE")]
    pub inputs: Vec<String>,

    /// A Form value from an environment variable, for one connector with CONNECTOR:
    #[arg(long = "input-env", value_name = "[CONNECTOR:]STEP.FIELD=ENV_NAME")]
    pub input_envs: Vec<String>,

    /// Form values from a YAML file (`-` for stdin): `step: {field: value}`, or under `CONNECTOR:`
    #[arg(long = "inputs", value_name = "FILE")]
    pub inputs_file: Option<PathBuf>,

    /// Override a connector variable, for one connector with CONNECTOR:
    #[arg(long = "var", value_name = "[CONNECTOR:]NAME=VALUE")]
    pub vars: Vec<String>,

    /// Variables from DIR/environments/NAME.yaml (`variables:`, `connectors: {C: {variables:}}`)
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
