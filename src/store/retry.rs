//! Idempotent retries: an append that finds its stream moved on is not a conflict when the
//! stream already holds this very batch (same event ids, in order, from the expected version
//! on). That is a retry of an append that succeeded but whose answer was lost (a crash, a
//! dropped connection); it resolves as the first attempt did and writes nothing. KurrentDB
//! treats a retried write the same way.
use super::{EventStore, Result};
use crate::json::Scanner;
use crate::record::{EventFields, EventId};
use crate::storage::Storage;

impl<S: Storage> EventStore<S> {
    /// Whether the events after `expected_version` of the stream carry exactly the ids of
    /// `events`, in order. Only a batch whose every event came with an `eventId` can be
    /// recognised: generated ids are new on every attempt. Ids are compared as the JSON text
    /// they are kept as, which the JS package writes one way for one string (another spelling
    /// of the same id, from another writer, is taken for another id: a conflict, never a false
    /// success). The caller has the aggregate's turn.
    pub(super) async fn already_appended(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        events: &[EventFields<'_>],
    ) -> Result<bool, S> {
        if !events
            .iter()
            .all(|e| matches!(e.event_id, EventId::Json(_)))
        {
            return Ok(false);
        }
        let stored = self
            .load_json(aggregate_id, expected_version, Some(events.len()))
            .await?;
        let mut given = events.iter().map(|e| e.event_id);
        let mut count = 0;
        let same = each_event_id(&stored, |stored| {
            count += 1;
            matches!(given.next(), Some(EventId::Json(id)) if id == stored)
        });
        Ok(same && count == events.len())
    }
}

/// Calls `same` with the `eventId` member (JSON text) of each event of `json`, an array of
/// recorded events as a load writes it, while it answers true. False if any answer was false
/// or the text is not such an array.
fn each_event_id(json: &str, mut same: impl FnMut(&str) -> bool) -> bool {
    let mut scanner = Scanner::new(json);
    if !scanner.eat(b'[') {
        return false;
    }
    if scanner.eat(b']') {
        return true;
    }
    loop {
        if !scanner.eat(b'{') {
            return false;
        }
        loop {
            let key = scanner.position();
            if scanner.string().is_err() || !scanner.eat(b':') {
                return false;
            }
            let is_id = scanner.since(key) == Some("\"eventId\":");
            let value = scanner.position();
            if scanner.value().is_err() {
                return false;
            }
            if is_id && !scanner.since(value).is_some_and(&mut same) {
                return false;
            }
            if !scanner.eat(b',') {
                break;
            }
        }
        if !scanner.eat(b'}') {
            return false;
        }
        if scanner.eat(b']') {
            return true;
        }
        if !scanner.eat(b',') {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::each_event_id;

    #[test]
    fn event_ids_are_read_from_a_load() {
        let json = r#"[{"aggregateId":"a","data":{"eventId":"inner"},"eventId":"e1","position":0},{"eventId":"e\"2"}]"#;
        let mut ids = Vec::new();
        assert!(each_event_id(json, |id| {
            ids.push(id.to_string());
            true
        }));
        assert_eq!(ids, ["\"e1\"", "\"e\\\"2\""]);
        assert!(each_event_id("[]", |_| false));
        assert!(!each_event_id(json, |_| false));
        for bad in ["", "{}", "[1]", "[{\"eventId\":}]", "[{}"] {
            assert!(!each_event_id(bad, |_| true), "{bad}");
        }
    }
}
