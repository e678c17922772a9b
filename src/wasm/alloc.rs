//! The wasm heap: dlmalloc, with the wasm memory grown geometrically.
//!
//! Why: in V8 a `memory.grow` costs time in proportion to the memory's current size (measured:
//! 350 one-page grows take 7 ms at 25 MB and 260 ms at 1 GB). The standard allocator grows the
//! memory by just what each request needs, so a heap built up to N bytes pays for about N/64 KiB
//! grows, each slower than the last: a store holding a few hundred MB appended several times
//! slower than a fresh one. Growing by at least an eighth of the memory each time makes that
//! O(log N) grows, for at most an eighth of the memory reserved ahead (pages no one touched, which
//! the OS does not back until they are used).
//!
//! wasm32 here has no threads, so the allocator needs no lock.
use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;
use core::ptr;

use dlmalloc::{Allocator, Dlmalloc};

const PAGE: usize = 64 * 1024;
/// Grow by at least 1/GROWTH_DIVISOR of the current memory...
const GROWTH_DIVISOR: usize = 8;
/// ...but reserve ahead no more than this many pages (64 MiB) at a time.
const MAX_AHEAD_PAGES: usize = 1024;

struct GeometricGrowth;

unsafe impl Allocator for GeometricGrowth {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        let needed = size.div_ceil(PAGE);
        let ahead = (wasm32::memory_size(0) / GROWTH_DIVISOR).min(MAX_AHEAD_PAGES);
        for pages in [needed.max(ahead), needed] {
            let previous = wasm32::memory_grow(0, pages);
            if previous != usize::MAX {
                return ((previous * PAGE) as *mut u8, pages * PAGE, 0);
            }
        }
        (ptr::null_mut(), 0, 0)
    }

    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        ptr::null_mut()
    }

    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }

    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        PAGE
    }
}

struct Heap(UnsafeCell<Dlmalloc<GeometricGrowth>>);

// Sound because wasm32 without the atomics feature runs one thread: no two calls overlap.
unsafe impl Sync for Heap {}

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        (*self.0.get()).malloc(layout.size(), layout.align())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        (*self.0.get()).calloc(layout.size(), layout.align())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        (*self.0.get()).free(ptr, layout.size(), layout.align())
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size)
    }
}

#[global_allocator]
static HEAP: Heap = Heap(UnsafeCell::new(Dlmalloc::new_with_allocator(
    GeometricGrowth,
)));
