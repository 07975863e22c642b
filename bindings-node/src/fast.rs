//! The calls index.js makes for every part (`_layout`, `_text`, `_content`) as plain Node-API
//! callbacks taking the message as their first argument.
//!
//! A napi-rs method call checks the receiver's class in a registry and records the borrow of
//! `&self` in a table behind a lock, about a microsecond per call; a bot reading every part of a
//! typical message makes four or five such calls, as much time as a third of the parse. Here the
//! message is checked with the type tag napi-rs stamps on every `Message` (one Node-API call) and
//! read through the pointer napi-rs wrapped.

use std::ffi::c_void;
use std::ptr::null_mut;

use napi::bindgen_prelude::{ToNapiValue, TypeTag};
use napi::{Env, JsValue, sys};

use crate::parse::{Message, fresh_buffer};
use crate::text::JsText;

/// The native functions, added to the addon's exports under these names.
const FUNCTIONS: [(&str, sys::napi_callback); 3] =
    [("_layout", Some(layout)), ("_text", Some(text)), ("_content", Some(content))];

/// Adds the functions of this module to `exports`.
pub(crate) fn install(env: sys::napi_env, exports: sys::napi_value) -> napi::Result<()> {
    for (name, cb) in FUNCTIONS {
        let mut f = null_mut();
        // SAFETY: `name` is valid for its length; `cb` is a Node-API callback.
        let status = unsafe {
            sys::napi_create_function(env, name.as_ptr().cast(), name.len() as isize, cb, null_mut(), &mut f)
        };
        check(status, "cannot create a function")?;
        let mut key = null_mut();
        // SAFETY: as above.
        check(
            unsafe { sys::napi_create_string_utf8(env, name.as_ptr().cast(), name.len() as isize, &mut key) },
            "cannot create a string",
        )?;
        // SAFETY: `exports` is the addon's exports object.
        check(unsafe { sys::napi_set_property(env, exports, key, f) }, "cannot set an export")?;
    }
    Ok(())
}

fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(napi::Status::from(status), what.to_string()))
    }
}

/// The call's first three arguments (undefined where missing).
unsafe fn args(env: sys::napi_env, info: sys::napi_callback_info) -> [sys::napi_value; 3] {
    let mut argv = [null_mut(); 3];
    let mut argc = argv.len();
    // SAFETY: `argv` has room for `argc` values; Node fills missing ones with undefined.
    unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), null_mut(), null_mut()) };
    argv
}

/// The `Message` behind `value`, or `None` when `value` is not one.
///
/// # Safety
/// The reference must not outlive the call that received `value` (the object, an argument of it,
/// keeps the message alive until then).
unsafe fn message<'a>(env: sys::napi_env, value: sys::napi_value) -> Option<&'a Message> {
    let mut kind = sys::ValueType::napi_undefined;
    // SAFETY: plain Node-API call. (The tag check would convert a primitive to an object, and
    // throw for undefined and null.)
    if unsafe { sys::napi_typeof(env, value, &mut kind) } != sys::Status::napi_ok || kind != sys::ValueType::napi_object
    {
        return None;
    }
    let tag = <Message as TypeTag>::type_tag();
    let mut tagged = false;
    // SAFETY: `tag` is valid during the call.
    let status = unsafe { sys::napi_check_object_type_tag(env, value, &tag, &mut tagged) };
    if status != sys::Status::napi_ok || !tagged {
        return None;
    }
    let mut wrapped: *mut c_void = null_mut();
    // SAFETY: objects with this tag were wrapped by napi-rs around a `Box<Message>`.
    let status = unsafe { sys::napi_unwrap(env, value, &mut wrapped) };
    if status != sys::Status::napi_ok || wrapped.is_null() {
        return None;
    }
    // SAFETY: see above; only shared references to a `Message` are ever made.
    Some(unsafe { &*wrapped.cast::<Message>() })
}

/// Runs `f` on the message of the call and its next two arguments, turning errors (and panics)
/// into JavaScript exceptions.
unsafe fn with_message(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    f: impl FnOnce(&Message, [sys::napi_value; 2]) -> napi::Result<sys::napi_value>,
) -> sys::napi_value {
    // SAFETY: called by Node with this callback's `env` and `info`.
    let [m, second, third] = unsafe { args(env, info) };
    // SAFETY: the reference lives only during this call.
    let Some(msg) = (unsafe { message(env, m) }) else {
        // SAFETY: plain Node-API calls on the callback's `env`.
        unsafe { sys::napi_throw_type_error(env, null_mut(), c"the first argument must be a Message".as_ptr()) };
        return null_mut();
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(msg, [second, third])))
        .unwrap_or_else(|_| Err(napi::Error::from_reason("mailwright: internal error (panic)")));
    match result {
        Ok(v) => v,
        Err(e) => {
            let reason = std::ffi::CString::new(e.reason.replace('\0', " ")).unwrap_or_default();
            // SAFETY: as above.
            unsafe { sys::napi_throw_error(env, null_mut(), reason.as_ptr()) };
            null_mut()
        }
    }
}

/// A part index given to `_text`/`_content` (or a position given to `_layout`); anything but a
/// number becomes one out of range.
fn index(env: sys::napi_env, value: sys::napi_value) -> u32 {
    let mut index = u32::MAX;
    // SAFETY: plain Node-API call; a non-number leaves `index` as it is.
    unsafe { sys::napi_get_value_uint32(env, value, &mut index) };
    index
}

/// `_layout(message, numbers, at)`: every part's metadata (see `Message::layout`). The numbers go
/// into `numbers`, a Float64Array that index.js fills message after message and hands out in
/// views: their count at `at`, then the numbers, or only the count when they do not fit (index.js
/// then calls again with a new array). A new ArrayBuffer per message cost more than the rest of
/// the call (V8 allocates, tracks and sweeps each one outside its heap). Returns the texts.
unsafe extern "C" fn layout(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: Node calls this with a valid `env` and `info`.
    unsafe {
        with_message(env, info, |m, [numbers, at]| {
            let out = float64s(env, numbers)?;
            let at = index(env, at) as usize;
            let Some(out) = out.get_mut(at..).filter(|o| !o.is_empty()) else {
                return Err(napi::Error::new(napi::Status::InvalidArg, "the position is outside the array"));
            };
            let l = m.layout();
            out[0] = l.numbers.len() as f64;
            if let Some(room) = out.get_mut(1..1 + l.numbers.len()) {
                room.copy_from_slice(&l.numbers);
            }
            ToNapiValue::to_napi_value(env, JsText(&l.text))
        })
    }
}

/// The numbers of the Float64Array `value` (at least one), to write into during this call.
///
/// # Safety
/// The slice must not outlive the call that received `value`, and no JavaScript may run while it
/// is held (nothing else can then see or detach the array).
unsafe fn float64s<'a>(env: sys::napi_env, value: sys::napi_value) -> napi::Result<&'a mut [f64]> {
    let mut kind = sys::TypedarrayType::int8_array;
    let (mut len, mut data, mut buffer, mut offset) = (0usize, null_mut::<c_void>(), null_mut(), 0usize);
    // SAFETY: plain Node-API call; a non-TypedArray gives an error status.
    let status =
        unsafe { sys::napi_get_typedarray_info(env, value, &mut kind, &mut len, &mut data, &mut buffer, &mut offset) };
    if status != sys::Status::napi_ok || kind != sys::TypedarrayType::float64_array || len == 0 || data.is_null() {
        return Err(napi::Error::new(napi::Status::InvalidArg, "the second argument must be a Float64Array"));
    }
    // SAFETY: Node gives the address of the array's first element (8-aligned for a Float64Array)
    // and its length in elements.
    Ok(unsafe { std::slice::from_raw_parts_mut(data.cast::<f64>(), len) })
}

/// `_text(message, index)`: the text of a part.
unsafe extern "C" fn text(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: as above.
    unsafe {
        with_message(env, info, |m, [i, _]| ToNapiValue::to_napi_value(env, JsText(m.part(index(env, i))?.text())))
    }
}

/// `_content(message, index)`: the decoded content of a part, copied into a new Buffer.
unsafe extern "C" fn content(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: as above.
    unsafe {
        with_message(env, info, |m, [i, _]| {
            let part = m.part(index(env, i))?;
            Ok(fresh_buffer(&Env::from_raw(env), part.decoded())?.raw())
        })
    }
}
