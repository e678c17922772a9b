//! The sync core for JS: `SyncOutbox` (a replica's pending batches, see `crate::sync::outbox`)
//! and the protocol's two checks, `syncPlanPull` and `syncParsePush`. Structured answers cross
//! as JSON text, which the wrapper parses once; errors as the core's JS errors.
use std::collections::BTreeMap;

use wasm_bindgen::prelude::*;

use super::convert::{internal, invalid, out_of_memory, seed, to_js};
use crate::error::StoreError;
use crate::ids::IdGenerator;
use crate::json::{push_integer, push_json_string};
use crate::sync::{self, Confirmed, Limits, Outbox, PrepareError, Reconcile};

fn corrupt(message: String) -> JsValue {
    to_js(StoreError::<std::convert::Infallible>::CorruptLog {
        position: -1,
        reason: message,
    })
}

fn prepare_error(aggregate_id: &str, expected: i64, error: PrepareError) -> JsValue {
    match error {
        PrepareError::Conflict { actual } => {
            to_js(StoreError::<std::convert::Infallible>::Conflict {
                aggregate_id: aggregate_id.to_string(),
                expected,
                actual,
            })
        }
        PrepareError::Invalid(message) => invalid(message),
        PrepareError::OutOfMemory(error) => out_of_memory(error),
    }
}

fn push_string_array(out: &mut String, items: &[String]) {
    out.push('[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_json_string(out, item);
    }
    out.push(']');
}

/// A JSON array of event ids, as the wrapper hands it over.
fn ids(json: &str) -> Result<Vec<String>, JsValue> {
    serde_json::from_str(json).map_err(|_| internal("the sync core takes an array of event ids"))
}

/// A replica's outbox, folded from its entries; the wrapper does the I/O around it.
#[wasm_bindgen]
pub struct SyncOutbox {
    inner: Outbox,
    ids: IdGenerator,
}

#[wasm_bindgen]
impl SyncOutbox {
    #[wasm_bindgen(constructor)]
    pub fn new(seed_bytes: &[u8]) -> Result<SyncOutbox, JsValue> {
        Ok(SyncOutbox {
            inner: Outbox::new(),
            ids: IdGenerator::new(seed(seed_bytes)?),
        })
    }

    /// The outbox version of the last entry folded, -1 for none.
    pub fn applied(&self) -> f64 {
        self.inner.applied() as f64
    }

    /// Folds the entry stored at outbox version `seq`.
    pub fn apply(&mut self, seq: f64, entry_json: &str) -> Result<(), JsValue> {
        self.inner.apply(seq as i64, entry_json).map_err(corrupt)
    }

    /// The outbox version from which a fold gives this state (see `Outbox::live_from`).
    pub fn live_from(&self) -> f64 {
        self.inner.live_from() as f64
    }

    /// Starts a fresh fold at outbox version `from`.
    pub fn start_at(&mut self, from: f64) {
        self.inner.start_at(from as i64);
    }

    pub fn pending_count(&self) -> f64 {
        self.inner.pending_count() as f64
    }

    pub fn pending_of(&self, aggregate_id: &str) -> f64 {
        self.inner.pending_of(aggregate_id) as f64
    }

    /// `[[aggregateId, base], …]`.
    pub fn pending_aggregates(&self) -> String {
        let mut out = String::from("[");
        for (index, (id, base)) in self.inner.pending_aggregates().iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push('[');
            push_json_string(&mut out, id);
            out.push(',');
            push_integer(&mut out, *base);
            out.push(']');
        }
        out.push(']');
        out
    }

    /// The aggregate's pending state as a string that changes when it does.
    pub fn pending_state(&self, aggregate_id: &str) -> String {
        self.inner.pending_state(aggregate_id)
    }

    /// The confirmed version the aggregate's pending events were decided on; -2 for none.
    pub fn pending_base(&self, aggregate_id: &str) -> f64 {
        self.inner
            .pending_base(aggregate_id)
            .map_or(-2.0, |base| base as f64)
    }

    /// The view's version over confirmed version `confirmed`; `arrived_json`: the ids of the
    /// confirmed events after the pending base (see `Outbox::view_version`).
    pub fn view_version(
        &self,
        aggregate_id: &str,
        confirmed: f64,
        arrived_json: &str,
    ) -> Result<f64, JsValue> {
        Ok(self.inner.view_version(
            aggregate_id,
            Confirmed {
                version: confirmed as i64,
                arrived: &ids(arrived_json)?,
            },
        ) as f64)
    }

    /// The outbox entry for a local append (undefined for an empty batch), or the error.
    pub fn prepare_append(
        &mut self,
        aggregate_id: &str,
        confirmed: f64,
        arrived_json: &str,
        expected: f64,
        events_json: &str,
        now_ms: f64,
    ) -> Result<Option<String>, JsValue> {
        let expected_version = crate::version::expected_version(expected).map_err(invalid)?;
        let arrived = ids(arrived_json)?;
        self.inner
            .prepare_append(
                aggregate_id,
                Confirmed {
                    version: confirmed as i64,
                    arrived: &arrived,
                },
                expected_version,
                events_json,
                now_ms as i64,
                &mut self.ids,
            )
            .map_err(|error| prepare_error(aggregate_id, expected_version, error))
    }

    /// The aggregate's pending events after `after` (JSON array), at most `limit` (-1: all).
    pub fn pending_json(
        &self,
        aggregate_id: &str,
        confirmed: f64,
        arrived_json: &str,
        after: f64,
        limit: f64,
    ) -> Result<String, JsValue> {
        let limit = (limit >= 0.0).then_some(limit as usize);
        Ok(self.inner.pending_json(
            aggregate_id,
            Confirmed {
                version: confirmed as i64,
                arrived: &ids(arrived_json)?,
            },
            after as i64,
            limit,
        ))
    }

    /// `{"kind":"unchanged"}`, `{"kind":"settle","entry":…,"confirmed":n}` or
    /// `{"kind":"rebase","base":…,"pending":[…],"missedFrom":k}`; `arrived_json` is the array
    /// of the ids of the confirmed events after the pending base.
    pub fn reconcile(
        &self,
        aggregate_id: &str,
        confirmed: f64,
        arrived_json: &str,
    ) -> Result<String, JsValue> {
        let arrived: Vec<String> = serde_json::from_str(arrived_json)
            .map_err(|_| internal("reconcile takes an array of event ids"))?;
        Ok(
            match self
                .inner
                .reconcile(aggregate_id, confirmed as i64, &arrived)
            {
                Reconcile::Unchanged => "{\"kind\":\"unchanged\"}".to_string(),
                Reconcile::Settle { entry, confirmed } => {
                    let mut out = String::from("{\"kind\":\"settle\",\"confirmed\":");
                    push_integer(&mut out, confirmed as i64);
                    out.push_str(",\"entry\":");
                    push_json_string(&mut out, &entry);
                    out.push('}');
                    out
                }
                Reconcile::Rebase {
                    base,
                    pending_json,
                    missed_from,
                } => {
                    let mut out = String::from("{\"kind\":\"rebase\",\"base\":");
                    push_integer(&mut out, base);
                    out.push_str(",\"missedFrom\":");
                    push_integer(&mut out, missed_from as i64);
                    out.push_str(",\"pending\":");
                    out.push_str(&pending_json);
                    out.push('}');
                    out
                }
            },
        )
    }

    /// The settle entry of a rebase's answer (`[]`: drop), checked as `appendEvents` checks.
    pub fn rebase_entry(
        &mut self,
        aggregate_id: &str,
        base: f64,
        events_json: &str,
        now_ms: f64,
    ) -> Result<String, JsValue> {
        self.inner
            .rebase_entry(
                aggregate_id,
                base as i64,
                events_json,
                now_ms as i64,
                &mut self.ids,
            )
            .map_err(|error| prepare_error(aggregate_id, base as i64, error))
    }

    /// The next push request's JSON, or undefined when nothing is to be pushed.
    pub fn plan_push(
        &mut self,
        max_batches: u32,
        max_events: u32,
        max_bytes: u32,
    ) -> Option<String> {
        self.inner.plan_push(
            max_batches as usize,
            max_events as usize,
            max_bytes as usize,
        )
    }

    /// Reads the results of the push in flight; the number of batches accepted.
    pub fn push_results(&mut self, results_json: &str) -> Result<f64, JsValue> {
        self.inner
            .push_results(results_json)
            .map(|n| n as f64)
            .map_err(invalid)
    }

    /// The aggregates of the push in flight, as a JSON array.
    pub fn in_flight_aggregates(&self) -> String {
        let mut out = String::new();
        push_string_array(&mut out, &self.inner.in_flight_aggregates());
        out
    }

    /// `[{"aggregateId","entry","batches":[[…]…]}…]`: what refusing these batches drops.
    pub fn refuse(&mut self, batch_indexes: Vec<u32>) -> String {
        let indexes: Vec<usize> = batch_indexes.iter().map(|i| *i as usize).collect();
        let mut out = String::from("[");
        for (index, refusal) in self.inner.refuse(&indexes).iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push_str("{\"aggregateId\":");
            push_json_string(&mut out, &refusal.aggregate_id);
            out.push_str(",\"entry\":");
            push_json_string(&mut out, &refusal.entry);
            out.push_str(",\"batches\":[");
            out.push_str(&refusal.batches.join(","));
            out.push_str("]}");
        }
        out.push(']');
        out
    }
}

/// The appends that apply a pulled page: `[[aggregateId, expectedVersion, start, end], …]`.
#[wasm_bindgen(js_name = syncPlanPull)]
pub fn sync_plan_pull(page_json: &str, after: f64, versions_json: &str) -> Result<String, JsValue> {
    let page = sync::pull::parse_page(page_json).map_err(corrupt)?;
    let versions: BTreeMap<String, i64> = serde_json::from_str(versions_json)
        .map_err(|_| internal("syncPlanPull takes an object of versions"))?;
    let appends = sync::plan_pull(&page, after as i64, &versions).map_err(corrupt)?;
    let mut out = String::from("[");
    for (index, append) in appends.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push('[');
        push_json_string(&mut out, &append.aggregate_id);
        for n in [
            append.expected_version,
            append.start as i64,
            append.end as i64,
        ] {
            out.push(',');
            push_integer(&mut out, n);
        }
        out.push(']');
    }
    out.push(']');
    Ok(out)
}

/// A push request's body checked: `{"batches":[…]}`, or
/// `{"refusal":{"status","code","message","batches"}}`.
#[wasm_bindgen(js_name = syncParsePush)]
pub fn sync_parse_push(body: &str, max_batches: u32, max_events: u32) -> String {
    let limits = Limits {
        max_batches: max_batches as usize,
        max_events: max_events as usize,
    };
    match sync::protocol::parse_push(body, &limits) {
        Ok(batches) => format!("{{\"batches\":{}}}", sync::protocol::batches_json(&batches)),
        Err(refusal) => {
            let mut out = String::from("{\"refusal\":{\"status\":");
            push_integer(&mut out, i64::from(refusal.status));
            out.push_str(",\"code\":");
            push_json_string(&mut out, refusal.code);
            out.push_str(",\"message\":");
            push_json_string(&mut out, &refusal.message);
            out.push_str(",\"batches\":[");
            let indexes: Vec<String> = refusal.batches.iter().map(|i| i.to_string()).collect();
            out.push_str(&indexes.join(","));
            out.push_str("]}}");
            out
        }
    }
}
