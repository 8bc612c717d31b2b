//! `callback`: open a URL as written and capture every query parameter of the
//! first request the browser makes on the redirect path.

pub mod config;
pub mod run;
