//! Node bindings of mailwright: a thin layer over the `mailwright` crate, loaded with
//! `require('mailwright')`. Work that touches disk or network runs off the JavaScript thread
//! (libuv pool) and returns a Promise; errors are `Error` objects with `code` and `kind`.

mod audit;
mod bot;
mod build;
mod dissect;
mod errors;
mod fast;
mod fetch;
mod inject;
mod mailbox;
mod migrate;
mod parse;
mod tasks;
mod text;

use napi_derive::napi;

/// Parsed messages are many small allocations freed together when V8 collects them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (the same in its v2 and v3).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// How long memory freed by a collection stays with the process before it goes back to the OS.
///
/// mimalloc (v3) purges, when the first scheduled purge expires, every page free at that moment,
/// including pages freed a moment before. With its default of one second, a bot that parses a
/// batch, waits a second or two (for the server, for its handlers) and parses the next gave its
/// memory back in between and faulted it in again, zeroed, at the start of every batch (about
/// 4,000 page faults per 2,000 typical messages). Ten seconds keeps a busy process's memory and
/// still returns it after a burst. `MIMALLOC_PURGE_DELAY` in the environment wins.
const PURGE_DELAY_MS: std::ffi::c_long = 10_000;

#[napi_derive::module_init]
fn init() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a number in mimalloc's option table; any value is valid.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
    }
}

/// Adds the per-part functions of index.js (plain Node-API callbacks, see `fast`).
#[napi(module_exports)]
pub fn exports(exports: napi::bindgen_prelude::Object, env: napi::Env) -> napi::Result<()> {
    use napi::JsValue;
    fast::install(env.raw(), exports.raw())
}

pub use audit::{AuditOptions, audit};
pub use bot::{BotReport, BotTransport, Mailbot, MailbotOptions, RuleSpec, WatchOptions};
pub use build::{AttachmentData, BuildOptions, Envelope, MessageBuilder, build};
pub use dissect::{DissectConfig, Dissection};
pub use fetch::{ImapSyncOptions, imap_sync};
pub use inject::{Outbox, Receipt, Recipient, SendOptions, Tls, Transport, send};
pub use mailbox::{Maildir, MaildirMessage, Mbox};
pub use migrate::{MigrateOptions, migrate};
pub use parse::{Address, Header, Message, ParseWarning, parse, parse_file};
pub use tasks::Job;

/// The version of the mailwright core.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The Node-API version this addon is built for, read by Node when it loads the addon.
///
/// The experimental version makes Node run the addon's finalizers inside V8's collections instead
/// of in a later turn of the event loop: without it, a synchronous loop over 20,000 messages kept
/// every parse (about 900 MB) until it returned. Its finalizers only free memory, delete
/// references and adjust V8's count of external memory, which Node allows there; a finalizer
/// that called into JavaScript would abort the process (`test/gc.test.js` collects every class in
/// the middle of synchronous code).
#[unsafe(no_mangle)]
pub extern "C" fn node_api_module_get_api_version_v1() -> i32 {
    i32::MAX
}

#[cfg(test)]
mod tests {
    use super::{MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS};

    fn purge_delay() -> std::ffi::c_long {
        // SAFETY: reads a number from mimalloc's option table.
        unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }
    }

    /// The option number is mimalloc's purge delay: the one `MIMALLOC_PURGE_DELAY` sets (checked in
    /// a child process, where the variable is read), and the addon's delay applies otherwise.
    #[test]
    fn the_purge_delay_is_set_at_load() {
        if let Some(v) = std::env::var_os("MAILWRIGHT_PURGE_DELAY_CHILD") {
            assert_eq!(purge_delay().to_string(), v.to_string_lossy());
            return;
        }
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay(), PURGE_DELAY_MS);
        }
        let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", "tests::the_purge_delay_is_set_at_load", "--nocapture"])
            .env("MIMALLOC_PURGE_DELAY", "4321")
            .env("MAILWRIGHT_PURGE_DELAY_CHILD", "4321")
            .output()
            .expect("the test binary runs");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && report.contains("1 passed"),
            "{report}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
