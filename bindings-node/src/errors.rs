//! Every core error becomes a JavaScript `Error` with `code` and `kind` (and, for delivery,
//! `smtpCode`, `enhancedCode`, `transient`, `recipients`), here and only here. Slow work runs as a
//! [`Job`] on the libuv pool; its failures are turned into such errors back on the JS thread.

use napi::bindgen_prelude::*;
use napi::{Env, Task};

use mailwright::inject::{InjectError, RecipientResult};

use crate::transport::Recipient;

/// A failure of the core, with what JavaScript needs to throw it.
#[derive(Debug)]
pub(crate) struct Failure {
    /// `parse`, `build`, `dissect`, `io`, `smtp`, `mx`, `delivery`, `outbox`, `fetch`, `bot`, `usage`.
    kind: &'static str,
    /// `EMAILWRIGHT_…`, or the errno name (`ENOENT`…) for I/O.
    code: String,
    message: String,
    transient: Option<bool>,
    delivery: Option<Box<Delivery>>,
}

#[derive(Debug)]
struct Delivery {
    smtp_code: Option<u16>,
    enhanced_code: Option<String>,
    recipients: Vec<RecipientResult>,
}

impl Failure {
    /// A failure of `kind` with code `EMAILWRIGHT_<KIND>`.
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            kind,
            code: format!("EMAILWRIGHT_{}", kind.to_uppercase()),
            message: message.into(),
            transient: None,
            delivery: None,
        }
    }

    /// Marks the failure as worth retrying later (or not).
    pub(crate) fn with_transient(mut self, transient: bool) -> Self {
        self.transient = Some(transient);
        self
    }

    /// A usage error (bad option).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure::new("usage", message)
    }

    /// An I/O error about `context` (a path…), coded with the errno name as Node does.
    pub(crate) fn io(e: &std::io::Error, context: impl std::fmt::Display) -> Self {
        let code = match e.raw_os_error() {
            Some(2) => "ENOENT",
            Some(13) => "EACCES",
            Some(17) => "EEXIST",
            Some(20) => "ENOTDIR",
            Some(21) => "EISDIR",
            Some(28) => "ENOSPC",
            Some(1) => "EPERM",
            _ => match e.kind() {
                std::io::ErrorKind::NotFound => "ENOENT",
                std::io::ErrorKind::PermissionDenied => "EACCES",
                std::io::ErrorKind::AlreadyExists => "EEXIST",
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput => "EINVAL",
                _ => "EIO",
            },
        };
        Failure { kind: "io", code: code.into(), message: format!("{context}: {e}"), transient: None, delivery: None }
    }

    /// A delivery failure, with the SMTP details.
    pub(crate) fn inject(e: InjectError) -> Self {
        let kind = match &e {
            InjectError::Smtp(_) => "smtp",
            InjectError::Mx(_) => "mx",
            InjectError::NoRecipients | InjectError::BadAddress(_) | InjectError::Parse(_) => {
                return Failure::new("build", e.to_string());
            }
            _ => "delivery",
        };
        let transient = e.is_transient();
        let code = format!("EMAILWRIGHT_{}_{}", kind.to_uppercase(), if transient { "TRANSIENT" } else { "PERMANENT" });
        let delivery = Delivery {
            smtp_code: e.smtp_code(),
            enhanced_code: e.enhanced_code().map(str::to_string),
            recipients: e.recipients().to_vec(),
        };
        Failure { kind, code, message: e.to_string(), transient: Some(transient), delivery: Some(Box::new(delivery)) }
    }

    /// The JavaScript `Error` (made on the JS thread), as a `napi::Error` that throws it as is.
    pub(crate) fn into_js(self, env: &Env) -> Error {
        let made = (|| -> Result<Error> {
            let mut obj = env.create_error(Error::new(Status::GenericFailure, self.message.clone()))?;
            obj.set_named_property("code", self.code.as_str())?;
            obj.set_named_property("kind", self.kind)?;
            if let Some(t) = self.transient {
                obj.set_named_property("transient", t)?;
            }
            if let Some(d) = self.delivery {
                obj.set_named_property("smtpCode", d.smtp_code.map(u32::from))?;
                obj.set_named_property("enhancedCode", d.enhanced_code)?;
                let rs: Vec<Recipient> = d.recipients.iter().map(Recipient::from).collect();
                obj.set_named_property("recipients", rs)?;
            }
            Ok(Error::from(obj.to_unknown()))
        })();
        made.unwrap_or_else(|e| e)
    }
}

/// Throws `f` from a synchronous call.
pub(crate) fn throw<T>(env: &Env, f: Failure) -> Result<T> {
    Err(f.into_js(env))
}

/// Work for the libuv thread pool: runs `work` off the JS thread, then turns its value into a
/// JavaScript value with `to_js` (on the JS thread), or its failure into a structured `Error`.
pub struct Job<T: Send + 'static, J> {
    work: Option<Box<dyn FnOnce() -> std::result::Result<T, Failure> + Send>>,
    to_js: fn(&Env, T) -> Result<J>,
    failure: Option<Failure>,
}

impl<T: Send + 'static, J> Job<T, J> {
    /// A task for `AsyncTask::new`.
    pub(crate) fn new(
        work: impl FnOnce() -> std::result::Result<T, Failure> + Send + 'static,
        to_js: fn(&Env, T) -> Result<J>,
    ) -> AsyncTask<Job<T, J>>
    where
        J: ToNapiValue + TypeName,
    {
        AsyncTask::new(Job { work: Some(Box::new(work)), to_js, failure: None })
    }
}

impl<T: Send + 'static, J: ToNapiValue + TypeName> Task for Job<T, J> {
    type Output = T;
    type JsValue = J;

    fn compute(&mut self) -> Result<T> {
        let work = self.work.take().ok_or_else(|| Error::from_reason("task ran twice"))?;
        work().map_err(|f| {
            let e = Error::from_reason(f.message.clone());
            self.failure = Some(f);
            e
        })
    }

    fn resolve(&mut self, env: Env, output: T) -> Result<J> {
        (self.to_js)(&env, output)
    }

    fn reject(&mut self, env: Env, err: Error) -> Result<J> {
        match self.failure.take() {
            Some(f) => Err(f.into_js(&env)),
            None => Err(err),
        }
    }
}

/// `to_js` for values that convert as they are.
pub(crate) fn same<T>(_: &Env, v: T) -> Result<T> {
    Ok(v)
}

/// A JSON value handed to JavaScript as a plain object (reports, manifests).
pub struct Json(pub(crate) serde_json::Value);

impl TypeName for Json {
    fn type_name() -> &'static str {
        "Object"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Json {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        unsafe { serde_json::Value::to_napi_value(env, val.0) }
    }
}

/// Text handed to JavaScript the fast way: ASCII and other Latin-1 text as one byte per character
/// (no decoding in V8), anything else transcoded to UTF-16 here (V8 then copies it as is instead of
/// decoding UTF-8 itself).
pub struct JsText<'a>(pub(crate) &'a str);

impl TypeName for JsText<'_> {
    fn type_name() -> &'static str {
        "String"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ToNapiValue for JsText<'_> {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let b = val.0.as_bytes();
        // ASCII is Latin-1 already: V8 copies it from where it is.
        if b.len() < EXTERNAL_MIN && b.is_ascii() {
            return unsafe { latin1(env, b) };
        }
        if b.len() >= EXTERNAL_MIN && external_strings(env) {
            let (mut narrow, mut wide) = (Vec::new(), Vec::new());
            return match convert(val.0, &mut narrow, &mut wide) {
                Units::Latin1(n) => {
                    narrow.truncate(n);
                    unsafe { external_string(env, narrow, node_api_create_external_string_latin1) }
                }
                Units::Utf16(n) => {
                    wide.truncate(n);
                    unsafe { external_string(env, wide, node_api_create_external_string_utf16) }
                }
            };
        }
        SCRATCH.with_borrow_mut(|(narrow, wide)| match convert(val.0, narrow, wide) {
            Units::Latin1(n) => unsafe { latin1(env, &narrow[..n]) },
            Units::Utf16(n) => unsafe { utf16(env, &wide[..n]) },
        })
    }
}

/// How `convert` wrote a text: this many Latin-1 bytes, or UTF-16 code units.
enum Units {
    Latin1(usize),
    Utf16(usize),
}

/// `s` in the narrowest form V8 keeps: Latin-1 into `narrow` (most Western mail is Latin-1
/// throughout; V8 then keeps one byte per character), else UTF-16 into `wide`.
fn convert(s: &str, narrow: &mut Vec<u8>, wide: &mut Vec<u16>) -> Units {
    match to_latin1(s.as_bytes(), grown(narrow, s.len())) {
        Some(n) => Units::Latin1(n),
        None => Units::Utf16(encoding_rs::mem::convert_str_to_utf16(s, grown(wide, s.len()))),
    }
}

/// UTF-8 `s` as Latin-1 in `out` (at least as long as `s`): its length, or `None` at the first
/// character past U+00FF. One pass: ASCII eight bytes at a time, U+0080–U+00FF (two bytes, lead
/// C2 or C3) one by one.
fn to_latin1(s: &[u8], out: &mut [u8]) -> Option<usize> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let (mut i, mut o) = (0, 0);
    while i < s.len() {
        if let (Some(chunk), Some(dst)) = (s.get(i..i + 8), out.get_mut(o..o + 8)) {
            // All eight bytes are copied; only the ASCII run at their start counts (`o` never
            // passes `i`, so the room is there).
            dst.copy_from_slice(chunk);
            let high = u64::from_le_bytes(chunk.try_into().ok()?) & HIGH;
            let run = if high == 0 { 8 } else { high.trailing_zeros() as usize / 8 };
            i += run;
            o += run;
            if run == 8 {
                continue;
            }
        }
        match s[i] {
            c if c < 0x80 => {
                out[o] = c;
                i += 1;
            }
            // `s` is UTF-8: a continuation byte follows these lead bytes.
            c @ (0xc2 | 0xc3) => {
                out[o] = (c & 0x1f) << 6 | (s.get(i + 1)? & 0x3f);
                i += 2;
            }
            _ => return None,
        }
        o += 1;
    }
    Some(o)
}

thread_local! {
    /// Where texts shorter than `EXTERNAL_MIN` are converted before V8 copies them (one of each
    /// width, reused: no allocation or fresh memory per string).
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u16>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// `buf` with room for at least `len` units (zeroed only when it grows).
fn grown<T: Copy + Default>(buf: &mut Vec<T>, len: usize) -> &mut [T] {
    if buf.len() < len {
        buf.resize(len, T::default());
    }
    &mut buf[..len]
}

/// Texts from this many bytes up go to V8 as external strings, which keep our buffer instead of a
/// copy (V8 puts strings this long in its large-object space anyway). Shorter texts are copied
/// into the young generation: external strings live in the old one, where each would keep its
/// buffer until the next full collection.
const EXTERNAL_MIN: usize = 128 * 1024;

unsafe extern "C" {
    // Node-API 10; exported (as experimental) by Node from 20.4.
    fn node_api_create_external_string_latin1(
        env: napi::sys::napi_env,
        str_: *mut u8,
        length: isize,
        finalize: Option<unsafe extern "C" fn(napi::sys::napi_env, *mut std::ffi::c_void, *mut std::ffi::c_void)>,
        hint: *mut std::ffi::c_void,
        result: *mut napi::sys::napi_value,
        copied: *mut bool,
    ) -> napi::sys::napi_status;
    fn node_api_create_external_string_utf16(
        env: napi::sys::napi_env,
        str_: *mut u16,
        length: isize,
        finalize: Option<unsafe extern "C" fn(napi::sys::napi_env, *mut std::ffi::c_void, *mut std::ffi::c_void)>,
        hint: *mut std::ffi::c_void,
        result: *mut napi::sys::napi_value,
        copied: *mut bool,
    ) -> napi::sys::napi_status;
}

/// Whether this Node has `node_api_create_external_string_latin1` (20.4 and later).
fn external_strings(env: napi::sys::napi_env) -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        let mut v: *const napi::sys::napi_node_version = std::ptr::null();
        // SAFETY: Node fills `v` with a pointer to its static version record.
        let ok = unsafe { napi::sys::napi_get_node_version(env, &mut v) } == napi::sys::Status::napi_ok;
        // SAFETY: checked non-null; the record lives as long as the process.
        ok && !v.is_null() && {
            let v = unsafe { &*v };
            (v.major, v.minor) >= (20, 4)
        }
    })
}

/// Bytes of external strings freed since V8 was last told (finalizers may run inside a collection,
/// where no napi call is allowed; the next string settles the count).
static FREED: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Frees a boxed slice of `hint` `T`s handed to V8 by `external`; Node calls it once, when the
/// string is collected (or right away if V8 copied it).
unsafe extern "C" fn free_external<T>(
    _env: napi::sys::napi_env,
    data: *mut std::ffi::c_void,
    hint: *mut std::ffi::c_void,
) {
    FREED.fetch_add((hint as usize * std::mem::size_of::<T>()) as i64, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: `data` and `hint` are the pointer and length of the boxed slice leaked in `external`.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data.cast::<T>(), hint as usize)) });
}

/// The signature of Node's `node_api_create_external_string_*`.
type CreateExternal<T> = unsafe extern "C" fn(
    napi::sys::napi_env,
    *mut T,
    isize,
    Option<unsafe extern "C" fn(napi::sys::napi_env, *mut std::ffi::c_void, *mut std::ffi::c_void)>,
    *mut std::ffi::c_void,
    *mut napi::sys::napi_value,
    *mut bool,
) -> napi::sys::napi_status;

/// A JavaScript string that keeps `units` (Latin-1 bytes or UTF-16 code units, as `create` takes
/// them) where they are.
unsafe fn external_string<T>(
    env: napi::sys::napi_env,
    units: Vec<T>,
    create: CreateExternal<T>,
) -> Result<napi::sys::napi_value> {
    let len = units.len();
    let ptr = Box::into_raw(units.into_boxed_slice()).cast::<T>();
    let hint = len as *mut std::ffi::c_void;
    let mut out = std::ptr::null_mut();
    let mut copied = false;
    // SAFETY: `ptr` holds `len` units that stay valid until `free_external` runs.
    let status = unsafe { create(env, ptr, len as isize, Some(free_external::<T>), hint, &mut out, &mut copied) };
    if status != napi::sys::Status::napi_ok {
        // SAFETY: on failure Node took nothing over.
        unsafe { free_external::<T>(env, ptr.cast(), hint) };
        return Err(Error::new(Status::from(status), "cannot create a string"));
    }
    // V8 does not count what external strings hold: without this, collections would come too
    // rarely and memory (these strings and the messages they came from) pile up.
    let change = (len * std::mem::size_of::<T>()) as i64 - FREED.swap(0, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    // SAFETY: called on the JavaScript thread, outside any collection.
    unsafe { napi::sys::napi_adjust_external_memory(env, change, &mut total) };
    Ok(out)
}

/// A JavaScript string of these UTF-16 code units (V8 copies them).
unsafe fn utf16(env: napi::sys::napi_env, units: &[u16]) -> Result<napi::sys::napi_value> {
    let mut out = std::ptr::null_mut();
    // SAFETY: `units` is valid for its length during the call; V8 copies it.
    let status = unsafe { napi::sys::napi_create_string_utf16(env, units.as_ptr(), units.len() as isize, &mut out) };
    if status != napi::sys::Status::napi_ok {
        return Err(Error::new(Status::from(status), "cannot create a string"));
    }
    Ok(out)
}

/// A JavaScript string of these Latin-1 bytes (V8 copies them).
unsafe fn latin1(env: napi::sys::napi_env, bytes: &[u8]) -> Result<napi::sys::napi_value> {
    let mut out = std::ptr::null_mut();
    // SAFETY: `bytes` is valid for its length during the call; V8 copies it.
    let status =
        unsafe { napi::sys::napi_create_string_latin1(env, bytes.as_ptr().cast(), bytes.len() as isize, &mut out) };
    if status != napi::sys::Status::napi_ok {
        return Err(Error::new(Status::from(status), "cannot create a string"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::to_latin1;

    #[test]
    fn latin1_conversion_matches_the_characters() {
        let pieces = ["a", "plain ascii ", "é", "ÿ", "\u{80}", "Grüße ", "Ā", "日", "😀", "\r\n"];
        // Every mix of three pieces, at every offset from an eight-byte boundary.
        for pad in 0..9 {
            for a in pieces {
                for b in pieces {
                    for c in pieces {
                        let s = format!("{}{a}{b}{c}{}", "x".repeat(pad), "y".repeat(pad));
                        let mut out = vec![0u8; s.len()];
                        let got = to_latin1(s.as_bytes(), &mut out).map(|n| out[..n].to_vec());
                        let want: Option<Vec<u8>> = s.chars().map(|ch| u8::try_from(u32::from(ch)).ok()).collect();
                        assert_eq!(got, want, "{s:?}");
                    }
                }
            }
        }
    }
}
