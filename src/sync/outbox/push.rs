//! The outbox's pushes: what to send next, how to read the server's results, and what a refused
//! request drops. Accepted batches are marked sent for this session only (a restart sends them
//! again, which the server's idempotent retries make harmless); an aggregate with a batch that
//! conflicted is blocked until a pull reconciles it.
use std::collections::{BTreeMap, BTreeSet};

use super::{settle_entry, Outbox, PendingBatch, PushResult, Refusal};
use crate::sync::stamped::{write_push_batch, StampedBatch};

impl Outbox {
    /// The next push: `{"protocol":1,"batches":[…]}` of the pending batches not yet sent, of
    /// aggregates not blocked, in the order they were appended, at most `max_batches` batches
    /// and about `max_events` events and `max_bytes` bytes (a batch alone is always sent, so
    /// that the server can refuse one that is too large). `None`: nothing to push.
    pub fn plan_push(
        &mut self,
        max_batches: usize,
        max_events: usize,
        max_bytes: usize,
    ) -> Option<String> {
        // Each batch is expected at the version after everything before it in its stream.
        let mut candidates: Vec<((i64, usize), &str, i64, &StampedBatch)> = Vec::new();
        for (aggregate_id, stream) in &self.streams {
            if self.blocked.contains(aggregate_id) {
                continue;
            }
            let mut expected = stream.base;
            for batch in &stream.batches {
                if !self.sent.contains(batch.key()) {
                    candidates.push((batch.seq, aggregate_id, expected, &batch.events));
                }
                expected += batch.events.len() as i64;
            }
        }
        candidates.sort_by_key(|c| c.0);
        let mut out = String::from("{\"protocol\":1,\"batches\":[");
        let (mut events, mut in_flight) = (0, Vec::new());
        // A stream whose batch did not fit sends none after it.
        let mut stopped: BTreeSet<&str> = BTreeSet::new();
        for (seq, aggregate_id, expected, batch) in candidates {
            if stopped.contains(aggregate_id) {
                continue;
            }
            let fits = in_flight.len() < max_batches
                && events + batch.len() <= max_events
                && out.len() + batch.json().len() < max_bytes;
            if !in_flight.is_empty() && !fits {
                stopped.insert(aggregate_id);
                continue;
            }
            if !in_flight.is_empty() {
                out.push(',');
            }
            write_push_batch(&mut out, aggregate_id, expected, batch);
            events += batch.len();
            in_flight.push((seq, aggregate_id.to_string()));
        }
        out.push_str("]}");
        self.in_flight = in_flight;
        (!self.in_flight.is_empty()).then_some(out)
    }

    /// Reads the server's results of the push in flight (`[{"status":"ok"|"conflict"|"skipped"…}]`,
    /// one per batch): accepted batches are not sent again; an aggregate with a refused batch
    /// waits for a pull. Returns how many batches were accepted.
    pub fn push_results(&mut self, results_json: &str) -> Result<usize, String> {
        let results: Vec<PushResult> = serde_json::from_str(results_json)
            .map_err(|error| format!("the server's push results cannot be read: {error}"))?;
        if results.len() != self.in_flight.len() {
            return Err(format!(
                "the server answered {} results for {} batches",
                results.len(),
                self.in_flight.len()
            ));
        }
        let mut accepted = 0;
        for (result, (seq, aggregate_id)) in results.iter().zip(std::mem::take(&mut self.in_flight))
        {
            match (result.status.as_str(), result.version) {
                ("ok", Some(version)) if version >= 0 => {
                    let key = self
                        .streams
                        .get(&aggregate_id)
                        .and_then(|stream| stream.batches.iter().find(|b| b.seq == seq))
                        .map(|batch| batch.key().to_string());
                    if let Some(key) = key {
                        self.sent.insert(key);
                    }
                    accepted += 1;
                }
                _ => {
                    self.blocked.insert(aggregate_id);
                }
            }
        }
        Ok(accepted)
    }

    /// The aggregates of the push in flight, in its batches' order.
    pub fn in_flight_aggregates(&self) -> Vec<String> {
        self.in_flight.iter().map(|(_, a)| a.clone()).collect()
    }

    /// The server refused the push in flight: for each aggregate of `batch_indexes` (batches
    /// of the request), its pending batches from the first refused one on, except those the
    /// server accepted already, are dropped. The rest of the request is pushed again later.
    pub fn refuse(&mut self, batch_indexes: &[usize]) -> Vec<Refusal> {
        let in_flight = std::mem::take(&mut self.in_flight);
        let mut from: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
        for index in batch_indexes {
            if let Some((seq, aggregate_id)) = in_flight.get(*index) {
                let first = from.entry(aggregate_id).or_insert(*seq);
                *first = (*first).min(*seq);
            }
        }
        let mut refusals = Vec::new();
        for (aggregate_id, first) in from {
            let Some(stream) = self.streams.get(aggregate_id) else {
                continue;
            };
            let (kept, dropped): (Vec<&PendingBatch>, Vec<&PendingBatch>) = stream
                .batches
                .iter()
                .partition(|b| b.seq < first || self.sent.contains(b.key()));
            let kept: Vec<&StampedBatch> = kept.iter().map(|b| &b.events).collect();
            let id_json = crate::json::json_string(aggregate_id);
            let mut first_version =
                stream.base + 1 + kept.iter().map(|b| b.len() as i64).sum::<i64>();
            let batches = dropped
                .iter()
                .map(|batch| {
                    let mut json = String::from("[");
                    batch.events.write_pending(
                        &mut json,
                        &id_json,
                        first_version,
                        -1,
                        &mut 0,
                        None,
                    );
                    json.push(']');
                    first_version += batch.events.len() as i64;
                    json
                })
                .collect();
            refusals.push(Refusal {
                aggregate_id: aggregate_id.to_string(),
                entry: settle_entry(aggregate_id, stream.base, &kept),
                batches,
            });
        }
        refusals
    }
}
