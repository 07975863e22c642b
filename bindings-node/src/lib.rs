//! Node bindings of mailwright: a thin layer over the `mailwright` crate, loaded with
//! `require('mailwright')`.

use napi_derive::napi;

/// The version of the mailwright core.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
