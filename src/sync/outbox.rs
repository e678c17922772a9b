//! The replica's outbox: its pending batches per aggregate, and every decision over them.
//!
//! The outbox is kept in the device's storage as an append-only stream of entries (see
//! ARCHITECTURE.md, "Sync"), each the JSON this module writes:
//! - `{"kind":"append","aggregateId":…,"base":…,"events":[…]}`: the app appended a batch,
//!   decided on the stream's view whose confirmed part ended at version `base`;
//! - `{"kind":"settle","aggregateId":…,"base":…,"batches":[[…],…]}`: the aggregate's pending
//!   batches are now these, on confirmed version `base` (after a pull confirmed some of them,
//!   a rebase re-decided them, or a refusal dropped them; no batches: nothing pending).
//!
//! [`Outbox`] folds entries in order (every tab folds the same stream, so all agree), and says
//! what to push, how to read the server's answer, and how confirmed events change what is
//! pending. A batch is pending until a pull brings its events back: an accepted push only marks
//! it sent for this session (a restart pushes it again, which the server's idempotent retries
//! make harmless).
use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::stamped::StampedBatch;
use crate::batch::BatchError;
use crate::error::OutOfMemory;
use crate::ids::IdGenerator;
use crate::json::{push_integer, push_json_string};
use crate::version::MAX_SAFE_INTEGER;

/// One pending batch: the outbox entry (its version in the outbox stream) that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PendingBatch {
    /// (outbox version of its entry, index among the entry's batches): the order of batches.
    seq: (i64, usize),
    events: StampedBatch,
}

/// An aggregate's pending batches, decided on its confirmed version `base`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PendingStream {
    base: i64,
    batches: Vec<PendingBatch>,
}

impl PendingBatch {
    /// What `sent` knows the batch by: its first event id (every batch has one).
    fn key(&self) -> &str {
        self.events.ids().first().map_or("", String::as_str)
    }
}

impl PendingStream {
    fn len(&self) -> i64 {
        self.batches.iter().map(|b| b.events.len() as i64).sum()
    }
}

/// What the outbox needs to know of an aggregate's confirmed stream: its version, and the ids
/// of its events after the pending base (`arrived`: empty when the base is the version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmed<'a> {
    pub version: i64,
    pub arrived: &'a [String],
}

impl Confirmed<'_> {
    /// A stream confirmed up to `version` with nothing arrived since the pending base.
    pub fn at(version: i64) -> Confirmed<'static> {
        Confirmed {
            version,
            arrived: &[],
        }
    }
}

/// Why a local append was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepareError {
    /// The view (confirmed then pending) is at `actual`, not at the expected version.
    Conflict {
        actual: i64,
    },
    Invalid(String),
    OutOfMemory(OutOfMemory),
}

impl From<BatchError> for PrepareError {
    fn from(error: BatchError) -> Self {
        match error {
            BatchError::Invalid(message) => PrepareError::Invalid(message),
            BatchError::OutOfMemory(error) => PrepareError::OutOfMemory(error),
        }
    }
}

/// What confirmed events mean for an aggregate's pending batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconcile {
    /// Nothing arrived since the pending batches' base, or only part of one of this replica's
    /// batches (the rest follows in the server's next page).
    Unchanged,
    /// Every event that arrived was one of this replica's: write `entry` (the batches the
    /// server has not confirmed yet, on the new base). `confirmed` events stopped being pending.
    Settle { entry: String, confirmed: usize },
    /// Events this replica did not have arrived (`missed_from`: the index of the first of them
    /// among the events after the old base). The pending events left (`pending_json`, recorded
    /// style on the new `base`) must be re-decided by the app (a rebase) or dropped.
    Rebase {
        base: i64,
        pending_json: String,
        missed_from: usize,
    },
}

/// Batches a refused push drops from one aggregate: write `entry`, report each batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub aggregate_id: String,
    pub entry: String,
    /// One JSON array of recorded-style pending events per dropped batch.
    pub batches: Vec<String>,
}

#[derive(Deserialize)]
struct EntryJson {
    kind: String,
    #[serde(rename = "aggregateId")]
    aggregate_id: String,
    base: i64,
    events: Option<Box<RawValue>>,
    batches: Option<Vec<Box<RawValue>>>,
}

/// One batch's result: `{"status":"ok","version":…}`, `"conflict"` or `"skipped"`.
#[derive(Deserialize)]
struct PushResult {
    status: String,
    version: Option<i64>,
}

fn settle_entry(aggregate_id: &str, base: i64, batches: &[&StampedBatch]) -> String {
    let mut out = String::from("{\"kind\":\"settle\",\"aggregateId\":");
    push_json_string(&mut out, aggregate_id);
    out.push_str(",\"base\":");
    push_integer(&mut out, base);
    out.push_str(",\"batches\":[");
    for (index, batch) in batches.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(batch.json());
    }
    out.push_str("]}");
    out
}

/// The pending batches of every aggregate, as the outbox's entries up to `applied` make them.
#[derive(Debug, Default)]
pub struct Outbox {
    streams: BTreeMap<String, PendingStream>,
    /// The outbox version of the last entry folded (-1: none).
    applied: i64,
    /// Batches (by entry) the server accepted in this session: not pushed again.
    /// Keyed by each batch's first event id, which (unlike its place in the outbox) a settle
    /// entry keeping the batch does not change.
    sent: BTreeSet<String>,
    /// Aggregates whose last push conflicted: pushed again only after a pull reconciled them.
    blocked: BTreeSet<String>,
    /// The batches of the push in flight, in the request's order: (entry, aggregate).
    in_flight: Vec<((i64, usize), String)>,
}

impl Outbox {
    pub fn new() -> Self {
        Outbox {
            applied: -1,
            ..Outbox::default()
        }
    }

    /// The outbox version of the last entry folded, -1 for none.
    pub fn applied(&self) -> i64 {
        self.applied
    }

    /// Folds the entry at outbox version `seq` (entries already folded are skipped).
    pub fn apply(&mut self, seq: i64, entry_json: &str) -> Result<(), String> {
        if seq <= self.applied {
            return Ok(());
        }
        let entry: EntryJson = serde_json::from_str(entry_json)
            .map_err(|error| format!("outbox entry {seq} is not an outbox entry: {error}"))?;
        let parse = |raw: &RawValue| {
            StampedBatch::parse(raw.get())
                .map_err(|error| format!("outbox entry {seq} holds a bad batch: {error}"))
        };
        match (entry.kind.as_str(), entry.events, entry.batches) {
            ("append", Some(events), None) => {
                let events = parse(&events)?;
                let stream = self
                    .streams
                    .entry(entry.aggregate_id)
                    .or_insert(PendingStream {
                        base: entry.base,
                        batches: Vec::new(),
                    });
                if stream.batches.is_empty() {
                    stream.base = entry.base;
                }
                stream.batches.push(PendingBatch {
                    seq: (seq, 0),
                    events,
                });
            }
            ("settle", None, Some(batches)) => {
                let batches = batches
                    .iter()
                    .enumerate()
                    .map(|(offset, raw)| {
                        parse(raw).map(|events| PendingBatch {
                            seq: (seq, offset),
                            events,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                self.blocked.remove(&entry.aggregate_id);
                if batches.is_empty() {
                    self.streams.remove(&entry.aggregate_id);
                } else {
                    self.streams.insert(
                        entry.aggregate_id,
                        PendingStream {
                            base: entry.base,
                            batches,
                        },
                    );
                }
            }
            _ => return Err(format!("outbox entry {seq} has an unknown shape")),
        }
        self.applied = seq;
        Ok(())
    }

    /// The outbox version from which folding gives this same state: every entry before it was
    /// superseded (its aggregate has been settled since, or has nothing pending). A replica
    /// stores it with its checkpoint, so that opening it folds only the entries still live
    /// instead of its whole history. (Each stream's first batch comes from the entry that began
    /// its current state: the append to an empty stream, or the settle.)
    pub fn live_from(&self) -> i64 {
        self.streams
            .values()
            .filter_map(|stream| stream.batches.first())
            .map(|batch| batch.seq.0)
            .min()
            .unwrap_or(self.applied + 1)
    }

    /// Starts a fresh fold at outbox version `from` (a `live_from` stored earlier): entries
    /// before it are not asked for. Ignored once anything was folded.
    pub fn start_at(&mut self, from: i64) {
        if self.streams.is_empty() && self.applied < 0 {
            self.applied = from - 1;
        }
    }

    /// Events appended locally and not yet confirmed by a pull.
    pub fn pending_count(&self) -> usize {
        self.streams.values().map(|s| s.len() as usize).sum()
    }

    /// Pending events of one aggregate.
    pub fn pending_of(&self, aggregate_id: &str) -> i64 {
        self.streams.get(aggregate_id).map_or(0, PendingStream::len)
    }

    /// Every aggregate with pending events, with the confirmed version they were decided on.
    pub fn pending_aggregates(&self) -> Vec<(String, i64)> {
        self.streams
            .iter()
            .map(|(id, stream)| (id.clone(), stream.base))
            .collect()
    }

    /// The confirmed version the aggregate's pending batches were decided on, if it has any.
    pub fn pending_base(&self, aggregate_id: &str) -> Option<i64> {
        self.streams.get(aggregate_id).map(|s| s.base)
    }

    /// How many of the stream's first pending events `arrived` (the ids of its confirmed
    /// events after its base) holds already: confirmed, though no settle entry says so yet (a
    /// pull stored them, maybe only part of a batch so far, and the reconciliation that follows
    /// has not been written). The view skips them.
    fn confirmed_events(stream: &PendingStream, arrived: &[String]) -> usize {
        stream
            .batches
            .iter()
            .flat_map(|batch| batch.events.ids())
            .zip(arrived)
            .take_while(|(pending, confirmed)| pending == confirmed)
            .count()
    }

    /// The aggregate's base and pending event ids, as one string: equal strings, equal
    /// pending state (a decision about the aggregate still holds after other aggregates'
    /// entries were written).
    pub fn pending_state(&self, aggregate_id: &str) -> String {
        let mut out = String::new();
        if let Some(stream) = self.streams.get(aggregate_id) {
            push_integer(&mut out, stream.base);
            for batch in &stream.batches {
                out.push('|');
                for id in batch.events.ids() {
                    push_json_string(&mut out, id);
                }
            }
        }
        out
    }

    /// The view's version: the confirmed version (`arrived`: the ids of the confirmed events
    /// after the pending base), then every pending event not confirmed yet.
    pub fn view_version(&self, aggregate_id: &str, confirmed: Confirmed<'_>) -> i64 {
        let Some(stream) = self.streams.get(aggregate_id) else {
            return confirmed.version;
        };
        confirmed.version + stream.len() - Self::confirmed_events(stream, confirmed.arrived) as i64
    }

    /// A local append of `events_json` at `expected` over confirmed version `confirmed`: the
    /// outbox entry to write (none for an empty batch), or why not. Checked as `appendEvents`
    /// checks; the entry is folded only once it is stored (`apply`).
    pub fn prepare_append(
        &self,
        aggregate_id: &str,
        confirmed: Confirmed<'_>,
        expected: i64,
        events_json: &str,
        now_ms: i64,
        generator: &mut IdGenerator,
    ) -> Result<Option<String>, PrepareError> {
        if aggregate_id.is_empty() {
            return Err(PrepareError::Invalid(
                "aggregateId must be a non-empty string".into(),
            ));
        }
        let events = StampedBatch::stamp(events_json, now_ms, generator)?;
        let actual = self.view_version(aggregate_id, confirmed);
        if actual != expected {
            return Err(PrepareError::Conflict { actual });
        }
        if events.is_empty() {
            return Ok(None);
        }
        if expected + events.len() as i64 > MAX_SAFE_INTEGER {
            return Err(PrepareError::Invalid(
                "events would take the stream past the largest safe version (2^53-1)".into(),
            ));
        }
        let stream = self.streams.get(aggregate_id);
        if let Some(stream) = stream {
            if Self::confirmed_events(stream, confirmed.arrived) == stream.len() as usize {
                // Every pending event is confirmed already, maybe with others' events after
                // them, and the settle entry saying so is not written yet: the new batch was
                // decided on the confirmed stream as it is, so that is its base.
                return Ok(Some(settle_entry(
                    aggregate_id,
                    confirmed.version,
                    &[&events],
                )));
            }
        }
        let base = stream.map_or(confirmed.version, |s| s.base);
        let mut out = String::from("{\"kind\":\"append\",\"aggregateId\":");
        push_json_string(&mut out, aggregate_id);
        out.push_str(",\"base\":");
        push_integer(&mut out, base);
        out.push_str(",\"events\":");
        out.push_str(events.json());
        out.push('}');
        Ok(Some(out))
    }

    /// The aggregate's pending events after version `after`, as a JSON array of recorded
    /// events marked pending, at versions following `confirmed` (without the batches `arrived`
    /// holds, see `view_version`); at most `limit`.
    pub fn pending_json(
        &self,
        aggregate_id: &str,
        confirmed: Confirmed<'_>,
        after: i64,
        limit: Option<usize>,
    ) -> String {
        let mut out = String::from("[");
        if let Some(stream) = self.streams.get(aggregate_id) {
            let id_json = crate::json::json_string(aggregate_id);
            let mut skip = Self::confirmed_events(stream, confirmed.arrived);
            let mut first = confirmed.version + 1;
            let mut count = 0;
            for batch in &stream.batches {
                let len = batch.events.len();
                if skip >= len {
                    skip -= len; // confirmed already
                    continue;
                }
                // Its first `skip` events are confirmed: numbered before the view's pending
                // part, they fall at or below `after`.
                let start = first - skip as i64;
                batch.events.write_pending(
                    &mut out,
                    &id_json,
                    start,
                    after.max(first - 1),
                    &mut count,
                    limit,
                );
                first = start + len as i64;
                skip = 0;
            }
        }
        out.push(']');
        out
    }

    /// What the confirmed events of `aggregate_id` after its pending base mean: `confirmed` is
    /// the stream's confirmed version now, `arrived` the ids of its events after the base.
    pub fn reconcile(&self, aggregate_id: &str, confirmed: i64, arrived: &[String]) -> Reconcile {
        let Some(stream) = self.streams.get(aggregate_id) else {
            return Reconcile::Unchanged;
        };
        if stream.base == confirmed {
            return Reconcile::Unchanged;
        }
        // This replica's events come first after the base (each batch was pushed at the
        // version following the one before), as long as they were accepted.
        let own = Self::confirmed_events(stream, arrived);
        // The batches that arrived whole, and their events.
        let (mut kept, mut matched) = (0, 0);
        for batch in &stream.batches {
            if matched + batch.events.len() > own {
                break;
            }
            matched += batch.events.len();
            kept += 1;
        }
        if matched < own && own == arrived.len() {
            // Part of a batch arrived: the rest is in the server's next page (a batch is
            // appended atomically). Until then nothing is decided.
            return Reconcile::Unchanged;
        }
        let left: Vec<&StampedBatch> = stream
            .batches
            .iter()
            .skip(kept)
            .map(|b| &b.events)
            .collect();
        if matched == arrived.len() || left.is_empty() {
            return Reconcile::Settle {
                entry: settle_entry(aggregate_id, confirmed, &left),
                confirmed: matched,
            };
        }
        let id_json = crate::json::json_string(aggregate_id);
        let mut pending_json = String::from("[");
        let (mut first, mut count) = (confirmed + 1, 0);
        for batch in &left {
            batch.write_pending(&mut pending_json, &id_json, first, -1, &mut count, None);
            first += batch.len() as i64;
        }
        pending_json.push(']');
        Reconcile::Rebase {
            base: confirmed,
            pending_json,
            missed_from: matched,
        }
    }

    /// The entry that makes `events_json` (the app's rebase answer; `[]`: drop) the aggregate's
    /// only pending batch on confirmed version `base`.
    pub fn rebase_entry(
        &self,
        aggregate_id: &str,
        base: i64,
        events_json: &str,
        now_ms: i64,
        generator: &mut IdGenerator,
    ) -> Result<String, PrepareError> {
        let events = StampedBatch::stamp(events_json, now_ms, generator)?;
        let batches: Vec<&StampedBatch> = if events.is_empty() {
            vec![]
        } else {
            vec![&events]
        };
        Ok(settle_entry(aggregate_id, base, &batches))
    }
}

mod push;
#[cfg(test)]
mod tests;
