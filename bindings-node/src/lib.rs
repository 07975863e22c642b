//! Node bindings of mailwright: a thin layer over the `mailwright` crate, loaded with
//! `require('mailwright')`. Work that touches disk or network runs off the JavaScript thread
//! (libuv pool) and returns a Promise; errors are `Error` objects with `code` and `kind`.

mod bot;
mod errors;
mod message;
mod transport;

use napi_derive::napi;

/// Parsed messages are many small allocations freed together when V8 collects them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use bot::{BotReport, BotTransport, Mailbot, MailbotOptions, RuleSpec, WatchOptions};
pub use errors::Job;
pub use message::{Address, DissectConfig, Dissection, Header, Message, ParseWarning, parse, parse_file};
pub use transport::{
    AttachmentData, BuildOptions, Envelope, ImapSyncOptions, Maildir, MaildirMessage, Mbox, MessageBuilder, Outbox,
    Receipt, Recipient, SendOptions, Tls, Transport, build, imap_sync, send,
};

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
