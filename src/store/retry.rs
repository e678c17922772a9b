//! Idempotent retries: an append that finds its stream moved on is not a conflict when the
//! stream already holds this very batch (same event ids, in order, from the expected version
//! on). That is a retry of an append that succeeded but whose answer was lost (a crash, a
//! dropped connection); it resolves as the first attempt did and writes nothing. KurrentDB
//! treats a retried write the same way.
use serde::Deserialize;

use super::{EventStore, Result};
use crate::record::{EventFields, EventId};
use crate::storage::Storage;

/// Of a loaded event, only its id.
#[derive(Deserialize)]
struct LoadedId {
    #[serde(rename = "eventId")]
    event_id: String,
}

impl<S: Storage> EventStore<S> {
    /// Whether the events after `expected_version` of the stream carry exactly the ids of
    /// `events`, in order. Only a batch whose every event came with an `eventId` can be
    /// recognised: generated ids are new on every attempt. Ids are compared as strings (a JSON
    /// escape spells the same id). The caller has the aggregate's turn.
    pub(super) async fn already_appended(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        events: &[EventFields<'_>],
    ) -> Result<bool, S> {
        let mut given = Vec::new();
        for event in events {
            let EventId::Json(json) = event.event_id else {
                return Ok(false);
            };
            match serde_json::from_str::<String>(json) {
                Ok(id) => given.push(id),
                Err(_) => return Ok(false),
            }
        }
        let stored = self
            .load_json(aggregate_id, expected_version, Some(events.len()))
            .await?;
        let Ok(stored) = serde_json::from_str::<Vec<LoadedId>>(&stored) else {
            return Ok(false);
        };
        Ok(stored.len() == given.len() && stored.iter().zip(&given).all(|(s, g)| s.event_id == *g))
    }
}
