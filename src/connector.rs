//! Connector files: YAML text → validated [`validated::Connector`], with
//! diagnostics that carry file:line:column and a hint.
//!
//! Only this module (and the `Raw` config types each step file hands it) sees
//! serde's raw shapes; everything downstream gets the validated model.

pub mod build;
pub mod check;
pub mod diagnostic;
pub mod file;
pub mod load;
pub mod model;
pub mod raw;
pub mod scalar;
pub mod spans;
pub mod structure;
pub mod validated;
