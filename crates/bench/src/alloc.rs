//! A counting global allocator: the peak heap of one piece of work, exact to the byte (the
//! config phase), and the heap a piece of async work holds at its end (the pool phase).
//!
//! [`Counting`] wraps [`System`]. Outside a measure it only checks a flag per allocation, so
//! the other phases run at the system allocator's speed; inside, it keeps the bytes allocated
//! less the bytes freed since the start, and the highest that sum reached. [`measure_peak`]
//! counts its own thread's allocations only, so threads that happen to run meanwhile (other
//! tests, an idle runtime) do not enter its figures; [`start`] and [`stop`] count every thread's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicU8, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

/// The system allocator, counting while a measure runs.
pub(crate) struct Counting;

/// Nothing is counted.
const OFF: u8 = 0;
/// Every thread's allocations are counted ([`start`]).
const EVERY_THREAD: u8 = 1;
/// Only the allocations of the thread running [`measure_peak`] are counted.
const ONE_THREAD: u8 = 2;

/// Which allocations are counted: [`OFF`], [`EVERY_THREAD`] or [`ONE_THREAD`].
static MODE: AtomicU8 = AtomicU8::new(OFF);
/// Bytes allocated less bytes freed since counting began (negative when the work frees memory
/// allocated before it).
static CURRENT: AtomicIsize = AtomicIsize::new(0);
/// The highest `CURRENT` reached since counting began.
static PEAK: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Whether this thread is the one [`measure_peak`] counts (a `const` cell: reading it
    /// never allocates).
    static MEASURED: Cell<bool> = const { Cell::new(false) };
}

/// Whether an allocation made on this thread now is counted.
fn counted() -> bool {
    match MODE.load(Relaxed) {
        OFF => false,
        EVERY_THREAD => true,
        _ => MEASURED.try_with(Cell::get).unwrap_or(false),
    }
}

fn grew(bytes: usize) {
    if counted() {
        let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
        let now = CURRENT.fetch_add(bytes, Relaxed).saturating_add(bytes);
        PEAK.fetch_max(now, Relaxed);
    }
}

fn shrank(bytes: usize) {
    if counted() {
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

/// Runs `work`, which must not hand its allocations to other threads, and returns its output
/// with the heap it used on this thread. Other threads' allocations meanwhile are not counted;
/// one call waits for another to end.
pub(crate) fn measure_peak<T>(work: impl FnOnce() -> T) -> (T, Heap) {
    // One measure at a time (tests run in parallel).
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(PoisonError::into_inner);
    MEASURED.set(true);
    begin(ONE_THREAD);
    let out = work();
    let heap = stop();
    MEASURED.set(false);
    (out, heap)
}

/// Starts counting, from zero, every thread's allocations until [`stop`]: [`measure_peak`] for
/// work that awaits. Nothing else may count meanwhile (the pool phase, alone in its process).
pub(crate) fn start() {
    begin(EVERY_THREAD);
}

fn begin(mode: u8) {
    CURRENT.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    MODE.store(mode, Relaxed);
}

/// Stops counting: what was counted since [`start`] (or, inside [`measure_peak`], since it began).
pub(crate) fn stop() -> Heap {
    MODE.store(OFF, Relaxed);
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
        // The test harness's own bookkeeping on this thread may add a little.
        assert!((1 << 20..(1 << 20) + (64 << 10)).contains(&heap.peak), "{heap:?}");
        assert!((1 << 10..64 << 10).contains(&heap.retained), "{heap:?}");
        drop(kept);
    }

    #[test]
    fn another_thread_s_allocations_are_not_counted() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let churn = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut held = Vec::new();
                while !stop.load(Relaxed) {
                    held.push(vec![1u8; 64 << 10]);
                    if held.len() == 64 {
                        held.clear();
                    }
                }
            }
        });
        let ((), heap) = measure_peak(|| {
            // Long enough for the other thread to allocate megabytes meanwhile.
            let mut kept = Vec::new();
            for _ in 0..200 {
                kept.push(std::hint::black_box(vec![1u8; 1 << 10]));
                std::thread::yield_now();
            }
        });
        stop.store(true, Relaxed);
        churn.join().expect("the other thread ends");
        assert!(heap.peak < 1 << 20, "{heap:?}");
        assert_eq!(heap.retained, 0, "{heap:?}");
    }
}
