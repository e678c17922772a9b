//! The JSON array a load writes, shared by the stream sink ([`super::RecordSink`]) and the log
//! sink ([`super::LogSink`]): fallible growth, the limit, the separators and the `position`
//! member that recorded events of a storage with a global log carry.
use crate::error::OutOfMemory;
use crate::json::push_integer;
use crate::time::IsoCache;

pub(super) struct Output {
    pub(super) json: String,
    /// Events written so far.
    pub(super) count: usize,
    /// At most this many events are taken (usize::MAX: all).
    pub(super) limit: usize,
    /// Set when the output could not grow; the load then stops and reports it.
    pub(super) out_of_memory: Option<OutOfMemory>,
    /// The last time formatted: the events of one append share it.
    pub(super) times: IsoCache,
}

impl Output {
    pub(super) fn new(limit: Option<usize>) -> Self {
        let mut json = String::new();
        json.push('[');
        Output {
            json,
            count: 0,
            limit: limit.unwrap_or(usize::MAX),
            out_of_memory: None,
            times: IsoCache::default(),
        }
    }

    pub(super) fn full(&self) -> bool {
        self.count >= self.limit
    }

    pub(super) fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.count)
    }

    /// Makes room for `bytes` more output, or records that the memory could not. Amortised
    /// growth first, and where that is too much for what is left, exactly what is needed.
    pub(super) fn room(&mut self, bytes: usize) -> bool {
        if self.json.try_reserve(bytes).is_ok() || self.json.try_reserve_exact(bytes).is_ok() {
            return true;
        }
        if self.out_of_memory.is_none() {
            self.out_of_memory = Some(OutOfMemory::new("the loaded events", bytes));
        }
        false
    }

    /// Room for an event of at most `bound` bytes (its `position` member included) and the
    /// separator before it, written. False (and nothing written) when the memory cannot give it.
    pub(super) fn begin(&mut self, bound: usize) -> bool {
        if !self.room(bound.saturating_add(POSITION_BYTES + 1)) {
            return false;
        }
        if self.count > 0 {
            self.json.push(',');
        }
        true
    }

    /// Ends the event just written (an object, so its last byte is `}`): with `position`, that
    /// member goes in before the brace. Room for it was made by [`Output::begin`].
    pub(super) fn end(&mut self, position: Option<i64>) {
        if let Some(position) = position {
            if self.json.ends_with('}') {
                self.json.pop();
                self.json.push_str(",\"position\":");
                push_integer(&mut self.json, position);
                self.json.push('}');
            }
        }
        self.count += 1;
    }

    /// The JSON array, or the allocation that failed.
    pub(super) fn finish(mut self) -> Result<String, OutOfMemory> {
        if let Some(out_of_memory) = self.out_of_memory {
            return Err(out_of_memory);
        }
        if !self.room(1) {
            return Err(OutOfMemory::new("the loaded events", 1));
        }
        self.json.push(']');
        Ok(self.json)
    }
}

/// Bytes of `,"position":` and a safe integer.
const POSITION_BYTES: usize = 12 + 16;
