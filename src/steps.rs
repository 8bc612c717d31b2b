//! The step catalogue: one file per step type, tied together by two enums.
//!
//! Adding a step type is one new file (its `Raw` config, its validated model,
//! its `run`) plus one variant in [`RawStep`] and [`Step`] and their match arms here.

pub mod api_request;
pub mod basic_auth;
pub mod callback;
pub mod form;
pub mod js;
pub mod jwt_bearer;
pub mod ntlm;
pub mod oauth1;
pub mod oauth2;
pub mod oauth2_client_credentials;
pub mod oauth2_device;
pub mod sso_token;
pub mod totp;

pub mod catalogue;
pub mod dispatch;
