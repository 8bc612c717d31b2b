//! `conntest call`'s arguments (clap types only; doc comments are the help text).

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

    #[command(flatten)]
    pub run: super::run_options::RunOptions,
}
