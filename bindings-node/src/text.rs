//! Texts handed to JavaScript: Latin-1 or UTF-16 made here, as V8 stores strings, so that V8
//! copies them instead of decoding UTF-8 itself (about twice as fast for the texts of mail).

use napi::bindgen_prelude::*;

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
/// throughout; V8 then keeps one byte per character), else UTF-16 into `wide`. One pass: at the
/// first character past U+00FF, what is done is widened and the rest goes on in UTF-16.
fn convert(s: &str, narrow: &mut Vec<u8>, wide: &mut Vec<u16>) -> Units {
    let b = s.as_bytes();
    let out = grown(narrow, b.len());
    let (mut i, mut o) = (0, 0);
    loop {
        // `o` never passes `i`, so the room is there.
        ascii_run(b, &mut i, out, &mut o, copy16);
        let Some(&c) = b.get(i) else { break };
        match c {
            c if c < 0x80 => {
                out[o] = c;
                i += 1;
            }
            // U+0080–U+00FF (`s` is UTF-8: a continuation byte follows).
            c @ (0xc2 | 0xc3) => {
                out[o] = (c & 0x1f) << 6 | (b[i + 1] & 0x3f);
                i += 2;
            }
            _ => return Units::Utf16(widen(s, i, &out[..o], wide)),
        }
        o += 1;
    }
    Units::Latin1(o)
}

/// `done` (Latin-1) then `s[from..]` as UTF-16 in `wide`; the number of code units.
fn widen(s: &str, from: usize, done: &[u8], wide: &mut Vec<u16>) -> usize {
    let b = s.as_bytes();
    // A UTF-8 sequence never gives more UTF-16 code units than it has bytes.
    let out = grown(wide, done.len() + b.len() - from);
    for (w, &c) in out.iter_mut().zip(done) {
        *w = u16::from(c);
    }
    let (mut i, mut o) = (from, done.len());
    loop {
        ascii_run(b, &mut i, out, &mut o, widen16);
        let Some(&c) = b.get(i) else { break };
        // One character; `s` is UTF-8, so its continuation bytes are there.
        let c = u32::from(c);
        let cont = |k: usize| u32::from(b[i + k] & 0x3f);
        let (ch, len) = match c {
            0..0x80 => (c, 1),
            0x80..0xe0 => ((c & 0x1f) << 6 | cont(1), 2),
            0xe0..0xf0 => ((c & 0x0f) << 12 | cont(1) << 6 | cont(2), 3),
            _ => ((c & 0x07) << 18 | cont(1) << 12 | cont(2) << 6 | cont(3), 4),
        };
        i += len;
        if ch < 0x1_0000 {
            out[o] = ch as u16;
            o += 1;
        } else {
            let v = ch - 0x1_0000;
            out[o] = 0xd800 | (v >> 10) as u16;
            out[o + 1] = 0xdc00 | (v & 0x3ff) as u16;
            o += 2;
        }
    }
    o
}

/// Moves `i` and `o` past the ASCII run at `b[*i..]`, written to `out[*o..]` sixteen bytes at a
/// time by `block` (which writes all sixteen and marks the bytes that are not ASCII); stops at the
/// first other byte or when fewer than sixteen are left.
#[inline(always)]
fn ascii_run<T>(b: &[u8], i: &mut usize, out: &mut [T], o: &mut usize, block: fn(&[u8; 16], &mut [T; 16]) -> u32) {
    while let (Some(src), Some(dst)) = (b.get(*i..*i + 16), out.get_mut(*o..*o + 16)) {
        let high = block(src.try_into().expect("sixteen bytes"), dst.try_into().expect("sixteen units"));
        // A branch, not `trailing_zeros` of `high | 1 << 16`: the next load must not wait for
        // this one's mask (that chain made the loop latency-bound, about a byte per cycle).
        if high != 0 {
            let run = high.trailing_zeros() as usize;
            *i += run;
            *o += run;
            break;
        }
        *i += 16;
        *o += 16;
    }
}

/// Copies `src` to `dst`; bit `k` set when byte `k` is not ASCII.
#[inline(always)]
fn copy16(src: &[u8; 16], dst: &mut [u8; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86-64; both pointers are valid for 16 bytes (unaligned access).
    unsafe {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_movemask_epi8, _mm_storeu_si128};
        let v = _mm_loadu_si128(src.as_ptr().cast::<__m128i>());
        _mm_storeu_si128(dst.as_mut_ptr().cast::<__m128i>(), v);
        _mm_movemask_epi8(v) as u32
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        dst.copy_from_slice(src);
        high_bits(src)
    }
}

/// Widens `src` into `dst` (each byte a code unit); bit `k` set when byte `k` is not ASCII.
#[inline(always)]
fn widen16(src: &[u8; 16], dst: &mut [u16; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `copy16`; `dst` is valid for 32 bytes.
    unsafe {
        use std::arch::x86_64::{
            __m128i, _mm_loadu_si128, _mm_movemask_epi8, _mm_setzero_si128, _mm_storeu_si128, _mm_unpackhi_epi8,
            _mm_unpacklo_epi8,
        };
        let v = _mm_loadu_si128(src.as_ptr().cast::<__m128i>());
        let zero = _mm_setzero_si128();
        let d = dst.as_mut_ptr().cast::<__m128i>();
        _mm_storeu_si128(d, _mm_unpacklo_epi8(v, zero));
        _mm_storeu_si128(d.add(1), _mm_unpackhi_epi8(v, zero));
        _mm_movemask_epi8(v) as u32
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        for (d, &c) in dst.iter_mut().zip(src) {
            *d = u16::from(c);
        }
        high_bits(src)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn high_bits(src: &[u8; 16]) -> u32 {
    src.iter().enumerate().fold(0, |m, (k, &c)| m | u32::from(c >> 7) << k)
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
    use super::{Units, convert};

    /// What V8 should get for `s`: Latin-1 bytes when every character fits, else UTF-16.
    fn expected(s: &str) -> Result<Vec<u8>, Vec<u16>> {
        s.chars()
            .map(|ch| u8::try_from(u32::from(ch)).ok())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| s.encode_utf16().collect())
    }

    fn converted(s: &str, narrow: &mut Vec<u8>, wide: &mut Vec<u16>) -> Result<Vec<u8>, Vec<u16>> {
        match convert(s, narrow, wide) {
            Units::Latin1(n) => Ok(narrow[..n].to_vec()),
            Units::Utf16(n) => Err(wide[..n].to_vec()),
        }
    }

    #[test]
    fn conversion_matches_the_characters() {
        let pieces = ["a", "plain ascii text", "é", "ÿ", "\u{80}", "Grüße ", "Ā", "日", "😀", "\r\n"];
        // The buffers are reused, as in the addon: only what was written may count.
        let (mut narrow, mut wide) = (Vec::new(), Vec::new());
        // Every mix of three pieces, at every offset from a sixteen-byte boundary, with long
        // ASCII runs around them.
        for pad in 0..18 {
            for a in pieces {
                for b in pieces {
                    for c in pieces {
                        let s = format!("{}{a}{b}{}{c}{}", "x".repeat(pad), "y".repeat(pad % 7), "z".repeat(pad * 2));
                        assert_eq!(converted(&s, &mut narrow, &mut wide), expected(&s), "{s:?}");
                    }
                }
            }
        }
        for s in ["", "x", "é", "日", "😀"] {
            assert_eq!(converted(s, &mut narrow, &mut wide), expected(s), "{s:?}");
        }
    }
}
