//! `api_request`: send one HTTP request; outputs status, headers, body, cookies.

pub mod config;
pub mod run;
