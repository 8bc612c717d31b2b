//! `oauth2_client_credentials`: a token for the client itself, no person involved.

pub mod config;
pub mod run;
