//! `oauth2` and `oauth2_pkce`: the authorization code grant through the
//! user's browser and the loopback listener, with a fresh `state` (and a PKCE
//! verifier), then the code exchanged at the token endpoint.

pub mod config;
pub mod run;
