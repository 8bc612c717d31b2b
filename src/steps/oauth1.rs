//! `oauth1`: OAuth 1.0a — three-legged (request token → the user authorizes
//! in the browser → verifier → access token) or with a given token pair.

pub mod config;
pub mod run;
