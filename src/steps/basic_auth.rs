//! `basic_auth`: build a Basic `Authorization` header, optionally verified.

pub mod config;
pub mod run;
