//! `sso_token`: a token the user already holds from single sign-on, taken
//! from `--sso-token-file`, `CONNTEST_SSO_TOKEN`, or a hidden prompt.

pub mod config;
pub mod run;
