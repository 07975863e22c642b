//! Node bindings of mailwright: a thin layer over the `mailwright` crate, loaded with
//! `require('mailwright')`. Work that touches disk or network runs off the JavaScript thread
//! (libuv pool) and returns a Promise; errors are `Error` objects with `code` and `kind`.

mod bot;
mod errors;
mod message;
mod transport;

use napi_derive::napi;

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
