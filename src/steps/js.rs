//! `js`: run a JavaScript function body in the sandboxed engine (`crate::js`)
//! with `params` in scope; the returned object's keys become the outputs.

pub mod config;
pub mod run;
