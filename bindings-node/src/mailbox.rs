//! Local stores: `Maildir` (async-iterable, with its messages) and `Mbox`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;
use napi_derive::napi;

use mailwright::mailbox::{MaildirEntry, MboxFormat, MboxReader};

use crate::errors::Failure;
use crate::tasks::{Job, bytes_of, same};

/// One message of a Maildir.
#[napi(object)]
pub struct MaildirMessage {
    /// Its file.
    pub path: String,
    /// Its unique name.
    pub id: String,
    /// Its flags, sorted (`S` seen, `R` replied, `F` flagged…).
    pub flags: String,
    /// Whether it is still in `new/`.
    pub is_new: bool,
}

impl From<MaildirEntry> for MaildirMessage {
    fn from(e: MaildirEntry) -> Self {
        MaildirMessage { path: e.path.display().to_string(), id: e.id, flags: e.flags, is_new: e.new }
    }
}

fn entry(m: &MaildirMessage) -> MaildirEntry {
    MaildirEntry { path: PathBuf::from(&m.path), id: m.id.clone(), flags: m.flags.clone(), new: m.is_new }
}

fn open_maildir(path: &str) -> std::result::Result<mailwright::mailbox::Maildir, Failure> {
    mailwright::mailbox::Maildir::create(path).map_err(Failure::from)
}

/// A Maildir (created when first used). `for await (const m of maildir)` streams its messages
/// (`new/` then `cur/`); one iteration at a time per object.
#[napi(async_iterator)]
pub struct Maildir {
    path: String,
    cursor: Arc<Mutex<Option<mailwright::mailbox::Entries>>>,
}

#[napi]
impl Maildir {
    /// The Maildir at `path`.
    #[napi(constructor)]
    pub fn new(path: String) -> Self {
        Maildir { path, cursor: Arc::new(Mutex::new(None)) }
    }

    /// Its folder.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// Delivers bytes into `new/` (written, synced, renamed); resolves to the file's path.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn deliver(&self, raw: Either<Buffer, String>) -> AsyncTask<Job<String, String>> {
        let raw = bytes_of(raw);
        self.job(move |md| Ok(md.deliver(&raw)?.display().to_string()), same)
    }

    /// Every message in `new/` and `cur/`.
    #[napi(ts_return_type = "Promise<MaildirMessage[]>")]
    pub fn messages(&self) -> AsyncTask<Job<Vec<MaildirMessage>, Vec<MaildirMessage>>> {
        self.job(
            |md| {
                let list = md.entries()?.collect::<std::result::Result<Vec<_>, _>>()?;
                Ok(list.into_iter().map(MaildirMessage::from).collect())
            },
            same,
        )
    }

    /// A message's bytes.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn read(&self, message: MaildirMessage) -> AsyncTask<Job<Vec<u8>, Buffer>> {
        Job::new(
            move || std::fs::read(&message.path).map_err(|e| Failure::io(&e, &message.path)),
            |_, v| Ok(Buffer::from(v)),
        )
    }

    /// Sets a message's flags (moving it to `cur/`); resolves to it as it is now.
    #[napi(ts_return_type = "Promise<MaildirMessage>")]
    pub fn set_flags(&self, message: MaildirMessage, flags: String) -> AsyncTask<Job<MaildirMessage, MaildirMessage>> {
        self.job(move |md| Ok(MaildirMessage::from(md.set_flags(&entry(&message), &flags)?)), same)
    }

    /// Moves a message into the Maildir at `dest`; resolves to it there.
    #[napi(ts_return_type = "Promise<MaildirMessage>")]
    pub fn move_to(&self, message: MaildirMessage, dest: String) -> AsyncTask<Job<MaildirMessage, MaildirMessage>> {
        self.job(move |md| Ok(MaildirMessage::from(md.move_to(&entry(&message), &open_maildir(&dest)?)?)), same)
    }

    /// The Maildir++ subfolder `name` (`Lists.rust`), created when missing.
    #[napi(ts_return_type = "Promise<Maildir>")]
    pub fn folder(&self, name: String) -> AsyncTask<Job<String, Maildir>> {
        self.job(move |md| Ok(md.folder(&name)?.path().display().to_string()), |_, p| Ok(Maildir::new(p)))
    }

    /// The Maildir++ subfolder names.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn folders(&self) -> AsyncTask<Job<Vec<String>, Vec<String>>> {
        self.job(|md| Ok(md.folders()?), same)
    }
}

impl Maildir {
    /// `work` on this Maildir (opened, and created when missing) as a job on the libuv pool.
    fn job<T: Send + 'static, J: ToNapiValue + TypeName>(
        &self,
        work: impl FnOnce(&mailwright::mailbox::Maildir) -> std::result::Result<T, Failure> + Send + 'static,
        to_js: fn(&napi::Env, T) -> Result<J>,
    ) -> AsyncTask<Job<T, J>> {
        let path = self.path.clone();
        Job::new(move || work(&open_maildir(&path)?), to_js)
    }
}

fn io_err(f: Failure) -> Error {
    Error::from_reason(format!("{f:?}"))
}

#[napi]
impl AsyncGenerator for Maildir {
    type Yield = MaildirMessage;
    type Next = ();
    type Return = ();

    fn next(
        &mut self,
        _: Option<()>,
    ) -> impl std::future::Future<Output = Result<Option<MaildirMessage>>> + Send + 'static {
        let cursor = self.cursor.clone();
        let path = self.path.clone();
        async move {
            let mut c = cursor.lock().map_err(|_| Error::from_reason("Maildir iteration lock poisoned"))?;
            if c.is_none() {
                let md = open_maildir(&path).map_err(io_err)?;
                *c = Some(md.entries().map_err(|e| Error::from_reason(format!("{path}: {e}")))?);
            }
            match c.as_mut().and_then(Iterator::next) {
                Some(Ok(e)) => Ok(Some(MaildirMessage::from(e))),
                Some(Err(e)) => {
                    *c = None;
                    Err(Error::from_reason(format!("{path}: {e}")))
                }
                None => {
                    *c = None;
                    Ok(None)
                }
            }
        }
    }
}

/// An mbox file. `for await (const raw of mbox)` streams its messages as Buffers (the file is
/// memory-mapped and read as the iteration goes, mboxrd unquoting); one iteration at a time.
#[napi(async_iterator)]
pub struct Mbox {
    path: String,
    cursor: Arc<Mutex<Option<MboxReader>>>,
}

#[napi]
impl Mbox {
    /// The mbox at `path` (created by the first append).
    #[napi(constructor)]
    pub fn new(path: String) -> Self {
        Mbox { path, cursor: Arc::new(Mutex::new(None)) }
    }

    /// Its file.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// Appends a message (mboxrd quoting, locked, synced); resolves to its offset.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn append(&self, raw: Either<Buffer, String>, sender: Option<String>) -> AsyncTask<Job<f64, f64>> {
        let path = self.path.clone();
        let raw = bytes_of(raw);
        Job::new(
            move || {
                let m = mailwright::mailbox::Mbox::new(&path);
                m.append(&sender.unwrap_or_default(), &raw).map(|o| o as f64).map_err(Failure::from)
            },
            same,
        )
    }

    /// Every message, unquoted.
    #[napi(ts_return_type = "Promise<Buffer[]>")]
    pub fn messages(&self) -> AsyncTask<Job<Vec<Vec<u8>>, Vec<Buffer>>> {
        let path = self.path.clone();
        Job::new(
            move || {
                let r = MboxReader::open(&path, MboxFormat::Mboxrd).map_err(Failure::from)?;
                Ok(r.map(|m| m.bytes().into_owned()).collect())
            },
            |_, all| Ok(all.into_iter().map(Buffer::from).collect()),
        )
    }
}

#[napi]
impl AsyncGenerator for Mbox {
    type Yield = Buffer;
    type Next = ();
    type Return = ();

    fn next(&mut self, _: Option<()>) -> impl std::future::Future<Output = Result<Option<Buffer>>> + Send + 'static {
        let cursor = self.cursor.clone();
        let path = self.path.clone();
        async move {
            let mut c = cursor.lock().map_err(|_| Error::from_reason("mbox iteration lock poisoned"))?;
            if c.is_none() {
                *c = Some(
                    MboxReader::open(&path, MboxFormat::Mboxrd)
                        .map_err(|e| Error::from_reason(format!("{path}: {e}")))?,
                );
            }
            match c.as_mut().and_then(Iterator::next) {
                Some(m) => Ok(Some(Buffer::from(m.bytes().into_owned()))),
                None => {
                    *c = None;
                    Ok(None)
                }
            }
        }
    }
}
