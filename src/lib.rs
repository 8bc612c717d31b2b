//! conntest as a library: the modules the binary (`main.rs`) and the
//! integration tests (the fuzz targets among them) share. The layers, from the
//! bottom up, are drawn in the README's Architecture section.

pub mod browser;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod connector;
pub mod context;
pub mod demo;
pub mod error;
pub mod expect;
pub mod flow;
pub mod http;
pub mod inputs;
pub mod js;
#[cfg(target_os = "linux")]
pub mod keystore;
pub mod listener;
pub mod ntlm;
pub mod oauth;
pub mod oauth1;
pub mod outcome;
pub mod output;
pub mod prompt;
pub mod report;
pub mod request;
pub mod secret;
pub mod signals;
pub mod starter;
pub mod steps;
pub mod template;
pub mod terminal;
pub mod vars;
