//! `oauth2_device`: the device authorization grant (RFC 8628) — a code the
//! person enters on another device while conntest polls the token endpoint.

pub mod config;
pub mod run;
