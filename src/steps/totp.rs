//! `totp`: the current RFC 6238 code of a base32 secret.

pub mod config;
pub mod run;
