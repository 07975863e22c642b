//! # mailwright
//!
//! The whole mail-processing loop as a library: **build** a message, **inject** it, **retrieve**
//! it, **dissect** it back into its original files, and **automate** that loop.
//!
//! | module | step |
//! |---|---|
//! | [`build`] | compose a message: addresses, bodies, attachments, replies and forwards; headers checked |
//! | [`parse`] | read a message: headers, addresses, bodies, the part tree (zero-copy, never panics) |
//! | [`dissect`](mod@dissect) | write a message's attachments into a folder, safely, with a manifest |
//! | [`inject`] | hand a message over: SMTP submission, direct to MX with failover, a durable outbox, Maildir, mbox, sendmail; a receipt per recipient |
//! | [`mailbox`] | local stores: Maildir and mbox, written safely, read as streams |
//! | `fetch` | incremental one-way IMAP sync into a Maildir (feature `smtp`) |
//! | `auth` | who really sent a message: DKIM, ARC, SPF and DMARC verification; DKIM signing (feature `smtp`) |
//! | [`bot`] | a mailbot: rules, actions, a ledger; every message handled once |
//! | [`warning`] | recoverable damage, reported instead of failing |
//! | [`limits`] | bounds on the work done for one message |
//! | [`sample`] | sample PDFs, messages and corpora made by code, for demos, tests and benches |
//!
//! ```
//! use mailwright::Message;
//! let raw = b"From: Jane <jane@example.org>\r\nSubject: =?utf-8?q?R=C3=A9sum=C3=A9?=\r\n\r\nHi\r\n";
//! let msg = Message::parse(raw)?;
//! assert_eq!(msg.subject(), Some("Résumé"));
//! # Ok::<(), mailwright::Error>(())
//! ```
#![deny(unsafe_code)]

#[cfg(feature = "smtp")]
pub mod audit;
#[cfg(feature = "smtp")]
pub mod auth;
pub mod bot;
pub mod build;
pub mod dissect;
#[cfg(feature = "smtp")]
pub mod dns;
pub mod error;
#[cfg(feature = "smtp")]
pub mod fetch;
mod files;
pub mod inject;
pub mod limits;
pub mod mailbox;
#[cfg(feature = "smtp")]
pub mod migrate;
#[cfg(feature = "smtp")]
pub mod oauth2;
pub mod parse;
pub mod sample;
#[cfg(feature = "smtp")]
pub mod secret;
#[cfg(feature = "smtp")]
mod server;
#[cfg(feature = "smtp")]
mod tls;
pub mod warning;

#[cfg(feature = "cli")]
pub mod cli;

pub use dissect::{DissectOptions, Dissection, dissect};
pub use error::{Error, Result};
pub use limits::Limits;
pub use parse::{Address, Message, Part, PartPath, SharedMessage, Summary};
pub use warning::{Warning, WarningKind};
