//! A counting global allocator for the tests that bound peak heap memory (each such test binary
//! holds one test, so nothing else allocates meanwhile).
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn add(n: usize) {
    let now = NOW.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        add(l.size());
        // SAFETY: same layout as asked.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        NOW.fetch_sub(l.size(), Relaxed);
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // Growing counts both blocks alive at once (a moving realloc); shrinking happens in place.
        if new > l.size() {
            add(new);
        }
        // SAFETY: forwarded unchanged.
        let q = unsafe { System.realloc(p, l, new) };
        NOW.fetch_sub(if new > l.size() { l.size() } else { l.size() - new }, Relaxed);
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Peak bytes allocated above the current level while `f` runs.
pub(crate) fn peak_of(f: impl FnOnce()) -> usize {
    let base = NOW.load(Relaxed);
    PEAK.store(base, Relaxed);
    f();
    PEAK.load(Relaxed) - base
}
