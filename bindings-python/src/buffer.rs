//! Bytes owned by Rust, lent to Python as a read-only `memoryview` without a copy.
//!
//! The memoryview's exporter is a small native type, `Content`, that holds a [`Bytes`] and gives
//! out its memory through the buffer protocol; the view keeps it (and so the bytes) alive, whatever
//! becomes of the message they came from. The type is made with `PyType_FromSpec` by hand: PyO3
//! offers `__getbuffer__` under the stable ABI only from Python 3.11, while the buffer slots of a
//! type spec work from 3.9, the oldest version the wheel supports.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::mem::ManuallyDrop;
use std::ptr;

use bytes::Bytes;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyMemoryView, PyType};

/// The object layout: the Python header, then the bytes.
#[repr(C)]
struct ContentObject {
    base: ffi::PyObject,
    data: ManuallyDrop<Bytes>,
}

/// `Py_buffer` as CPython lays it out (unchanged since 3.3; in the stable ABI from 3.11, which is
/// why pyo3-ffi does not declare it for older abi3 targets).
#[repr(C)]
struct RawPyBuffer {
    buf: *mut c_void,
    obj: *mut ffi::PyObject,
    len: ffi::Py_ssize_t,
    itemsize: ffi::Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut ffi::Py_ssize_t,
    strides: *mut ffi::Py_ssize_t,
    suboffsets: *mut ffi::Py_ssize_t,
    internal: *mut c_void,
}

const PYBUF_WRITABLE: c_int = 0x0001;
const PYBUF_FORMAT: c_int = 0x0004;
const PYBUF_ND: c_int = 0x0008;
const PYBUF_STRIDES: c_int = 0x0010 | PYBUF_ND;

static CONTENT_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// A read-only, zero-copy `memoryview` of `data`.
pub(crate) fn memoryview(py: Python<'_>, data: Bytes) -> PyResult<Bound<'_, PyMemoryView>> {
    let tp = content_type(py)?;
    // SAFETY: `PyType_GenericAlloc` returns a zeroed object of the type's size with its header set
    // (or null with an exception); `data` is written before anything can read it, and `dealloc`
    // drops it exactly once.
    let obj = unsafe {
        let obj = ffi::PyType_GenericAlloc(tp.as_ptr().cast(), 0);
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        ptr::write(ptr::addr_of_mut!((*obj.cast::<ContentObject>()).data), ManuallyDrop::new(data));
        Bound::from_owned_ptr(py, obj)
    };
    PyMemoryView::from(&obj)
}

fn content_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    CONTENT_TYPE
        .get_or_try_init(py, || {
            let mut slots = [
                ffi::PyType_Slot { slot: ffi::Py_bf_getbuffer, pfunc: get_buffer as *mut c_void },
                ffi::PyType_Slot { slot: ffi::Py_tp_dealloc, pfunc: dealloc as *mut c_void },
                ffi::PyType_Slot { slot: ffi::Py_tp_new, pfunc: refuse_new as *mut c_void },
                ffi::PyType_Slot {
                    slot: ffi::Py_tp_doc,
                    pfunc: c"Read-only content owned by mailwright; reach it through memoryview.".as_ptr()
                        as *mut c_void,
                },
                ffi::PyType_Slot { slot: 0, pfunc: ptr::null_mut() },
            ];
            let mut spec = ffi::PyType_Spec {
                name: c"mailwright._mailwright.Content".as_ptr(),
                basicsize: std::mem::size_of::<ContentObject>() as c_int,
                itemsize: 0,
                flags: ffi::Py_TPFLAGS_DEFAULT as c_uint,
                slots: slots.as_mut_ptr(),
            };
            // SAFETY: the spec and slots are valid for the call; CPython copies what it keeps (the
            // name is static).
            let tp = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyType_FromSpec(&mut spec))? };
            Ok::<_, PyErr>(tp.cast_into::<PyType>()?.unbind())
        })
        .map(|t| t.bind(py))
}

/// `bf_getbuffer`: the whole content, read-only, one-dimensional bytes.
unsafe extern "C" fn get_buffer(slf: *mut ffi::PyObject, view: *mut RawPyBuffer, flags: c_int) -> c_int {
    // SAFETY (whole function): CPython calls this with `slf` of our type and, when not null, a
    // `view` to fill; the exported pointers stay valid while `view.obj` holds `slf`.
    unsafe {
        if view.is_null() {
            ffi::PyErr_SetString(ffi::PyExc_BufferError, c"no buffer to fill".as_ptr());
            return -1;
        }
        if flags & PYBUF_WRITABLE == PYBUF_WRITABLE {
            ffi::PyErr_SetString(ffi::PyExc_BufferError, c"mailwright content is read-only".as_ptr());
            return -1;
        }
        let data: &Bytes = &(*slf.cast::<ContentObject>()).data;
        let v = &mut *view;
        v.buf = data.as_ptr() as *mut c_void;
        ffi::Py_INCREF(slf);
        v.obj = slf;
        v.len = data.len() as ffi::Py_ssize_t;
        v.itemsize = 1;
        v.readonly = 1;
        v.ndim = 1;
        v.format = if flags & PYBUF_FORMAT == PYBUF_FORMAT { c"B".as_ptr() as *mut _ } else { ptr::null_mut() };
        v.shape = if flags & PYBUF_ND == PYBUF_ND { &mut v.len } else { ptr::null_mut() };
        v.strides = if flags & PYBUF_STRIDES == PYBUF_STRIDES { &mut v.itemsize } else { ptr::null_mut() };
        v.suboffsets = ptr::null_mut();
        v.internal = ptr::null_mut();
        0
    }
}

/// `tp_dealloc`: drops the bytes, frees the object, releases the (heap) type.
unsafe extern "C" fn dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: called once, when the last reference goes; `data` was written at creation.
    unsafe {
        ManuallyDrop::drop(&mut (*slf.cast::<ContentObject>()).data);
        let tp = ffi::Py_TYPE(slf);
        let free: ffi::freefunc = std::mem::transmute(ffi::PyType_GetSlot(tp, ffi::Py_tp_free));
        free(slf.cast());
        ffi::Py_DECREF(tp.cast());
    }
}

/// `tp_new`: instances come only from mailwright (an empty one would have no bytes).
unsafe extern "C" fn refuse_new(
    _: *mut ffi::PyTypeObject,
    _: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: sets the current exception; the interpreter is held in a slot call.
    unsafe { ffi::PyErr_SetString(ffi::PyExc_TypeError, c"Content objects are made by mailwright only".as_ptr()) };
    ptr::null_mut()
}
