//! `jwt_bearer`: sign a JWT (HS*, RS*, ES256/384, EdDSA) from a secret or a PEM
//! key and, with `token_url`, exchange it for an access token (RFC 7523).

pub mod config;
pub mod key;
pub mod run;
