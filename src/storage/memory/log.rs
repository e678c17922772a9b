//! The memory storage's global log: for each position, the stream and version of its event.
//!
//! Entries live in blocks of at most [`BLOCK`] entries: a block grows (doubling) only until it is
//! full, so no copy of the whole log, which would need twice its size, is ever made, and a small
//! store does not pay for a whole block. Room is reserved fallibly before an append changes
//! anything.
use super::chunk::reserve;
use crate::error::OutOfMemory;

/// Entries per block: 512 KiB.
const BLOCK: usize = 1 << 16;

/// The event at one position: stream `stream` (its number in the storage) at `version`.
#[derive(Clone, Copy)]
pub(super) struct Entry {
    pub(super) stream: u32,
    pub(super) version: u32,
}

#[derive(Default)]
pub(super) struct Log {
    /// Full blocks, then the one being filled, then any reserved but still empty.
    blocks: Vec<Vec<Entry>>,
    len: usize,
}

impl Log {
    /// Positions taken: the next event's position.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn get(&self, position: usize) -> Option<Entry> {
        if position >= self.len {
            return None;
        }
        self.blocks
            .get(position / BLOCK)?
            .get(position % BLOCK)
            .copied()
    }

    /// Makes room for `count` more entries, or fails changing nothing that is visible (room
    /// reserved before the failure stays, empty, for later appends).
    pub(super) fn reserve(&mut self, count: usize) -> Result<(), OutOfMemory> {
        let needed = self.len.checked_add(count).ok_or_else(full)?;
        let blocks = needed.div_ceil(BLOCK);
        if blocks > self.blocks.len() {
            let more = blocks - self.blocks.len();
            reserve(&mut self.blocks, more)?;
        }
        for index in self.len / BLOCK..blocks {
            // This block's entries once the append is in: all of it, but for the last block.
            let wanted = needed.saturating_sub(index * BLOCK).min(BLOCK);
            if index == self.blocks.len() {
                self.blocks.push(Vec::new());
            }
            let Some(block) = self.blocks.get_mut(index) else {
                return Err(full()); // unreachable: pushed above
            };
            if block.capacity() < wanted {
                // Doubling within the block's bound, or just what is wanted near the memory's end.
                let grown = wanted.max(block.capacity().saturating_mul(2)).min(BLOCK);
                reserve(block, grown - block.len())
                    .or_else(|_| reserve(block, wanted - block.len()))?;
            }
        }
        Ok(())
    }

    /// Adds an entry, for which [`Log::reserve`] made room (so no block grows here).
    pub(super) fn push(&mut self, entry: Entry) {
        if let Some(block) = self.blocks.get_mut(self.len / BLOCK) {
            if block.len() < BLOCK {
                block.push(entry);
                self.len += 1;
            }
        }
    }
}

fn full() -> OutOfMemory {
    OutOfMemory::new("the global log", usize::MAX)
}
