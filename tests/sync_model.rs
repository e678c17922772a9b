//! Model-based property test of sync: random interleavings of local appends on several devices,
//! pushes (whose answers may be lost after the server committed), pulls in small pages (which
//! may crash after the confirmed events are stored and before the outbox and checkpoint are),
//! and restarts (the outbox folded again from its stored entries), against a server that is
//! the core's `EventStore` over `MemoryStorage` processing pushes as the sync handler does.
//! The replica's decisions are the core's (`wasm_event_store::sync`); the test plays the device
//! storage, the network and an app whose `rebase` re-decides every pending event anew.
//!
//! When every device has pushed and pulled until nothing moves: every event a device appended
//! is on the server exactly once, unless a rebase replaced it (and then it is not there at
//! all); every device's confirmed streams are the server's; nothing is pending.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::{json, Value};
use wasm_event_store::ids::IdGenerator;
use wasm_event_store::sync::{self, Confirmed, Limits, Outbox, Reconcile};
use wasm_event_store::{poll_once, EventStore, MemoryStorage, StoreError};

const AGGREGATES: [&str; 3] = ["a", "b", "c"];

#[derive(Debug, Clone)]
enum Op {
    Append {
        device: usize,
        aggregate: usize,
        count: usize,
    },
    Push {
        device: usize,
        lose_answer: bool,
    },
    Pull {
        device: usize,
        limit: usize,
        crash: bool,
    },
    Restart {
        device: usize,
    },
}

fn op(devices: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..devices, 0..AGGREGATES.len(), 1..4usize)
            .prop_map(|(device, aggregate, count)| Op::Append { device, aggregate, count }),
        3 => (0..devices, prop::bool::weighted(0.3)).prop_map(|(device, lose_answer)| Op::Push { device, lose_answer }),
        3 => (0..devices, 1..6usize, prop::bool::weighted(0.15))
            .prop_map(|(device, limit, crash)| Op::Pull { device, limit, crash }),
        1 => (0..devices).prop_map(|device| Op::Restart { device }),
    ]
}

struct Server {
    store: EventStore<MemoryStorage>,
}

impl Server {
    /// A push as the sync handler runs it: checked as a whole, then each batch appended on its
    /// own; after a batch of an aggregate fails, its later batches in the request are skipped.
    fn push(&self, body: &str) -> String {
        let batches = sync::protocol::parse_push(body, &Limits::default())
            .expect("replicas send valid pushes");
        let mut failed = BTreeSet::new();
        let results: Vec<Value> = batches
            .iter()
            .map(|batch| {
                if failed.contains(&batch.aggregate_id) {
                    return json!({"status": "skipped"});
                }
                let outcome = poll_once(self.store.append_events(
                    &batch.aggregate_id,
                    batch.expected_version,
                    batch.events.json(),
                    0,
                ))
                .unwrap();
                match outcome {
                    Ok(version) => json!({"status": "ok", "version": version}),
                    Err(StoreError::Conflict { actual, .. }) => {
                        failed.insert(batch.aggregate_id.clone());
                        json!({"status": "conflict", "actualVersion": actual})
                    }
                    Err(other) => panic!("server append failed: {other}"),
                }
            })
            .collect();
        serde_json::to_string(&results).unwrap()
    }

    fn pull(&self, after: i64, limit: usize) -> Vec<Value> {
        let json = poll_once(self.store.load_all_events_json(after, Some(limit)))
            .unwrap()
            .unwrap();
        serde_json::from_str(&json).unwrap()
    }

    fn streams(&self) -> BTreeMap<String, Vec<String>> {
        let mut streams: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for event in self.pull(-1, usize::MAX) {
            streams
                .entry(event["aggregateId"].as_str().unwrap().to_string())
                .or_default()
                .push(event["eventId"].as_str().unwrap().to_string());
        }
        streams
    }
}

/// A device: what its storage keeps (confirmed streams, outbox entries, checkpoint) and the
/// outbox folded in memory (lost on a restart).
struct Device {
    confirmed: BTreeMap<String, Vec<String>>,
    entries: Vec<String>,
    checkpoint: i64,
    /// Stored with the checkpoint: where a restart starts folding the outbox.
    outbox_from: i64,
    outbox: Outbox,
    ids: IdGenerator,
}

impl Device {
    fn new(seed: u8) -> Self {
        Device {
            confirmed: BTreeMap::new(),
            entries: Vec::new(),
            checkpoint: -1,
            outbox_from: 0,
            outbox: Outbox::new(),
            ids: IdGenerator::new([seed; 32]),
        }
    }

    fn version(&self, aggregate: &str) -> i64 {
        self.confirmed
            .get(aggregate)
            .map_or(-1, |ids| ids.len() as i64 - 1)
    }

    /// The ids of the aggregate's confirmed events after its pending base.
    fn arrived(&self, aggregate: &str) -> Vec<String> {
        let base = self.outbox.pending_base(aggregate).unwrap_or(-1);
        self.confirmed.get(aggregate).map_or(vec![], |ids| {
            ids.get((base + 1) as usize..).unwrap_or_default().to_vec()
        })
    }

    fn write_entry(&mut self, entry: String) {
        self.entries.push(entry);
        let seq = self.entries.len() as i64 - 1;
        self.outbox.apply(seq, &self.entries[seq as usize]).unwrap();
    }

    /// The outbox folded again, from where the last checkpoint says the live entries start.
    fn restart(&mut self) {
        self.outbox = Outbox::new();
        self.outbox.start_at(self.outbox_from);
        for (seq, entry) in self
            .entries
            .iter()
            .enumerate()
            .skip(self.outbox_from as usize)
        {
            self.outbox.apply(seq as i64, entry).unwrap();
        }
    }

    fn append(&mut self, aggregate: &str, count: usize, created: &mut BTreeSet<String>) {
        let confirmed = self.version(aggregate);
        // What the view shows: confirmed events, then pending ones not among them yet (after a
        // crash between a pull and its reconciliation, some are).
        let arrived = self.arrived(aggregate);
        let confirmed = Confirmed {
            version: confirmed,
            arrived: &arrived,
        };
        let expected = self.outbox.view_version(aggregate, confirmed);
        let events = json!((0..count)
            .map(|i| json!({"type": "Done", "data": i}))
            .collect::<Vec<_>>())
        .to_string();
        let entry = self
            .outbox
            .prepare_append(aggregate, confirmed, expected, &events, 0, &mut self.ids)
            .unwrap()
            .unwrap();
        // An append entry, or a settle entry when every pending event was confirmed already.
        let stored: Value = serde_json::from_str(&entry).unwrap();
        let events = stored["events"]
            .as_array()
            .or_else(|| stored["batches"][0].as_array());
        for event in events.unwrap() {
            created.insert(event["eventId"].as_str().unwrap().to_string());
        }
        self.write_entry(entry);
    }

    fn push(&mut self, server: &Server, lose_answer: bool) {
        let Some(request) = self.outbox.plan_push(3, 1000, 1 << 20) else {
            return;
        };
        let results = server.push(&request);
        if !lose_answer {
            self.outbox.push_results(&results).unwrap();
        }
    }

    /// One page; `crash`: the device stops after storing the confirmed events.
    fn pull(
        &mut self,
        server: &Server,
        limit: usize,
        crash: bool,
        superseded: &mut BTreeSet<String>,
    ) -> bool {
        let page = server.pull(self.checkpoint, limit);
        let parsed = sync::pull::parse_page(&serde_json::to_string(&page).unwrap()).unwrap();
        let versions = parsed
            .iter()
            .map(|e| (e.aggregate_id.clone(), self.version(&e.aggregate_id)))
            .collect();
        for append in sync::plan_pull(&parsed, self.checkpoint, &versions).unwrap() {
            let stream = self
                .confirmed
                .entry(append.aggregate_id.clone())
                .or_default();
            assert_eq!(stream.len() as i64 - 1, append.expected_version);
            for event in &page[append.start..append.end] {
                stream.push(event["eventId"].as_str().unwrap().to_string());
            }
        }
        if crash {
            self.restart();
            return !page.is_empty();
        }
        self.reconcile(superseded);
        if let Some(last) = page.last() {
            self.checkpoint = last["position"].as_i64().unwrap();
        }
        self.outbox_from = self.outbox.live_from();
        page.len() == limit
    }

    /// Every aggregate whose confirmed stream moved past its pending base, reconciled; the
    /// app's rebase re-decides each pending event as a new one.
    fn reconcile(&mut self, superseded: &mut BTreeSet<String>) {
        for (aggregate, base) in self.outbox.pending_aggregates() {
            let confirmed = self.version(&aggregate);
            let arrived: Vec<String> = self
                .confirmed
                .get(&aggregate)
                .map_or(vec![], |ids| ids[(base + 1) as usize..].to_vec());
            match self.outbox.reconcile(&aggregate, confirmed, &arrived) {
                Reconcile::Unchanged => {}
                Reconcile::Settle { entry, .. } => self.write_entry(entry),
                Reconcile::Rebase {
                    base, pending_json, ..
                } => {
                    let pending: Vec<Value> = serde_json::from_str(&pending_json).unwrap();
                    let redecided: Vec<Value> = pending
                        .iter()
                        .map(|event| {
                            superseded.insert(event["eventId"].as_str().unwrap().to_string());
                            json!({"type": event["type"], "data": event["data"]})
                        })
                        .collect();
                    let entry = self
                        .outbox
                        .rebase_entry(
                            &aggregate,
                            base,
                            &json!(redecided).to_string(),
                            0,
                            &mut self.ids,
                        )
                        .unwrap();
                    let stored: Value = serde_json::from_str(&entry).unwrap();
                    for event in stored["batches"][0].as_array().into_iter().flatten() {
                        created_later(event);
                    }
                    self.write_entry(entry);
                }
            }
        }
    }
}

// Re-decided events are new events of the app: recorded through `created` by the caller.
fn created_later(_event: &Value) {}

fn run(devices: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let server = Server {
        store: EventStore::new(MemoryStorage::new(), [1; 32]),
    };
    let mut fleet: Vec<Device> = (0..devices).map(|i| Device::new(i as u8 + 2)).collect();
    let mut created = BTreeSet::new();
    let mut superseded = BTreeSet::new();
    for op in ops {
        match op {
            Op::Append {
                device,
                aggregate,
                count,
            } => fleet[device].append(AGGREGATES[aggregate], count, &mut created),
            Op::Push {
                device,
                lose_answer,
            } => fleet[device].push(&server, lose_answer),
            Op::Pull {
                device,
                limit,
                crash,
            } => {
                fleet[device].pull(&server, limit, crash, &mut superseded);
            }
            Op::Restart { device } => fleet[device].restart(),
        }
    }
    // Everyone online until nothing moves.
    for _round in 0..50 {
        for device in fleet.iter_mut() {
            device.push(&server, false);
            while device.pull(&server, 7, false, &mut superseded) {}
            device.push(&server, false);
        }
        if fleet.iter().all(|d| d.outbox.pending_count() == 0) {
            break;
        }
    }
    for device in fleet.iter_mut() {
        while device.pull(&server, 7, false, &mut superseded) {}
    }
    // Re-decided events count as created: collect every id ever in an outbox entry.
    for device in &fleet {
        for entry in &device.entries {
            let entry: Value = serde_json::from_str(entry).unwrap();
            let batches = entry["batches"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![entry["events"].clone()]);
            for batch in batches {
                for event in batch.as_array().unwrap() {
                    created.insert(event["eventId"].as_str().unwrap().to_string());
                }
            }
        }
    }
    let streams = server.streams();
    let mut on_server = BTreeSet::new();
    for ids in streams.values() {
        for id in ids {
            prop_assert!(
                on_server.insert(id.clone()),
                "event {} is on the server twice",
                id
            );
        }
    }
    for id in &created {
        let replaced = superseded.contains(id);
        prop_assert!(
            on_server.contains(id) != replaced,
            "event {} on server: {}, replaced by a rebase: {}",
            id,
            on_server.contains(id),
            replaced
        );
    }
    for (index, device) in fleet.iter().enumerate() {
        prop_assert_eq!(
            device.outbox.pending_count(),
            0,
            "device {} still has pending events",
            index
        );
        prop_assert_eq!(
            &device.confirmed,
            &streams,
            "device {} differs from the server",
            index
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_on_the_server_log(ops in prop::collection::vec(op(3), 0..60)) {
        run(3, ops)?;
    }
}

#[test]
fn two_devices_editing_one_aggregate_offline_converge_after_a_rebase() {
    use Op::*;
    run(
        2,
        vec![
            Append {
                device: 0,
                aggregate: 0,
                count: 2,
            },
            Append {
                device: 1,
                aggregate: 0,
                count: 1,
            },
            Push {
                device: 0,
                lose_answer: true,
            },
            Push {
                device: 1,
                lose_answer: false,
            },
            Pull {
                device: 1,
                limit: 5,
                crash: true,
            },
            Restart { device: 0 },
        ],
    )
    .unwrap();
}
