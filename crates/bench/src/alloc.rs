//! A counting global allocator: the peak heap of one piece of work, exact to the byte (the
//! config phase), and the heap a piece of async work holds at its end (the pool phase).
//!
//! [`Counting`] wraps [`System`]. Outside a [`measure_peak`] it only checks a flag per
//! allocation, so the other phases run at the system allocator's speed; inside, it keeps the
//! bytes allocated less the bytes freed since the start, and the highest that sum reached.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

/// The system allocator, counting while [`measure_peak`] runs.
pub(crate) struct Counting;

/// Whether allocations are counted.
static ON: AtomicBool = AtomicBool::new(false);
/// Bytes allocated less bytes freed since counting began (negative when the work frees memory
/// allocated before it).
static CURRENT: AtomicIsize = AtomicIsize::new(0);
/// The highest `CURRENT` reached since counting began.
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(bytes: usize) {
    if ON.load(Relaxed) {
        let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
        let now = CURRENT.fetch_add(bytes, Relaxed).saturating_add(bytes);
        PEAK.fetch_max(now, Relaxed);
    }
}

fn shrank(bytes: usize) {
    if ON.load(Relaxed) {
        CURRENT.fetch_sub(isize::try_from(bytes).unwrap_or(isize::MAX), Relaxed);
    }
}

// SAFETY: every call goes to `System` with the caller's arguments unchanged; the counting
// touches atomics only and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        // The live bytes change by the difference, as a program sees it (a block that moves
        // is held twice only within `System`, and large ones move by remapping pages).
        if !new.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        new
    }
}

/// What [`measure_peak`] counted, in bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Heap {
    /// The most bytes held allocated at once beyond those allocated when the work began.
    pub(crate) peak: u64,
    /// The bytes still held when it ended (such as its output's).
    pub(crate) retained: u64,
}

/// Runs `work` and returns its output with the heap it (and any other thread meanwhile) used.
/// Nothing else should run meanwhile; one call waits for another to end.
pub(crate) fn measure_peak<T>(work: impl FnOnce() -> T) -> (T, Heap) {
    // One measure at a time (tests run in parallel).
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(PoisonError::into_inner);
    start();
    let out = work();
    (out, stop())
}

/// Starts counting, from zero, every thread's allocations until [`stop`]: [`measure_peak`] for
/// work that awaits. Nothing else may count meanwhile (the pool phase, alone in its process).
pub(crate) fn start() {
    CURRENT.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    ON.store(true, Relaxed);
}

/// Stops counting: what was counted since [`start`].
pub(crate) fn stop() -> Heap {
    ON.store(false, Relaxed);
    let bytes = |counter: &AtomicIsize| u64::try_from(counter.load(Relaxed)).unwrap_or(0);
    Heap { peak: bytes(&PEAK), retained: bytes(&CURRENT) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_counts_what_was_held_at_once() {
        let (kept, heap) = measure_peak(|| {
            let big = vec![1u8; 1 << 20];
            drop(std::hint::black_box(big));
            vec![1u8; 1 << 10]
        });
        // The other tests' threads may allocate meanwhile, a little.
        assert!((1 << 20..2 << 20).contains(&heap.peak), "{heap:?}");
        assert!((1 << 10..1 << 20).contains(&heap.retained), "{heap:?}");
        drop(kept);
    }
}
