//! `form`: values a person types (or CI passes with --input); one output per field.

pub mod config;
pub mod run;
