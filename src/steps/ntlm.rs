//! `ntlm`: an NTLMv2 handshake on one pinned connection (the `ntlm` module);
//! outputs the authenticated response like `api_request`.

pub mod config;
pub mod run;
