//! Tests of the memory storage: events round-trip through the compact form, chunks, and room
//! the memory cannot give.
use super::chunk::{growth, Record, CHUNK_RECORDS, CHUNK_TEXT};
use super::*;
use crate::record::EventId;

fn render(event: &EventFields<'_>) -> String {
    let mut out = String::new();
    let mut times = crate::time::IsoCache::default();
    crate::record::write_event(&mut out, "\"s\"", 0, event, &mut times);
    out
}

#[test]
fn events_round_trip() {
    let long = format!("\"{}\"", "x".repeat(300));
    let mut chunk = Chunk::with_capacity(0, 0, 0).unwrap();
    let mut events = Vec::new();
    for event_id in [
        EventId::Uuid([0xab; 16]),
        EventId::Json("\"e-1\""),
        EventId::Json("\"6f9619ff-8b86-d011-b42d-00cf4fc964ff\""),
        EventId::Json("\"6F9619FF-8B86-D011-B42D-00CF4FC964FF\""),
        EventId::Json("\"\\u0061\""),
        EventId::Json(&long),
    ] {
        for metadata_json in ["{}", "{\"m\":[1,2]}", "{ }"] {
            for occurred_on_ms in [0, -1, crate::time::MAX_MS, -crate::time::MAX_MS] {
                events.push(EventFields {
                    type_json: "\"T\\\"é\"",
                    data_json: "{\"k\":\"ü\"}",
                    metadata_json,
                    event_id,
                    occurred_on_ms,
                });
            }
        }
    }
    for event in &events {
        chunk.push(event, 0);
    }
    let mut start = 0;
    for (event, record) in events.iter().zip(&chunk.records) {
        assert_eq!(render(&chunk.event(start, record).unwrap()), render(event));
        start = record.end;
    }
}

#[test]
fn canonical_ids_and_empty_metadata_take_no_text() {
    let mut chunk = Chunk::with_capacity(0, 0, 0).unwrap();
    chunk.push(
        &EventFields {
            type_json: "\"T\"",
            data_json: "null",
            metadata_json: "{}",
            event_id: EventId::Json("\"6f9619ff-8b86-d011-b42d-00cf4fc964ff\""),
            occurred_on_ms: 0,
        },
        0,
    );
    assert_eq!(chunk.text, "\"T\"null");
    let record = chunk.records.first().unwrap();
    assert!(matches!(
        chunk.event(0, record).unwrap().event_id,
        EventId::Uuid(_)
    ));
}

#[test]
fn buffers_double_while_small_then_grow_by_a_quarter() {
    assert_eq!(growth(0, 0, 3, 64), 3);
    assert_eq!(growth(8, 8, 1, 64), 8);
    assert_eq!(growth(40, 40, 100, 64), 100);
    assert_eq!(growth(1000, 1000, 10, 64), 250);
    assert_eq!(growth(1000, 1100, 100, 64), 0);
    assert_eq!(growth(1000, 1000, 400, 64), 400);
    assert_eq!(growth(1000, 1000, 10, 4096), 1000);
}

#[test]
fn a_record_that_does_not_fit_its_text_is_none() {
    let mut chunk = Chunk::with_capacity(0, 0, 0).unwrap();
    chunk.text.push_str("\"é\"null");
    for (end, type_len) in [(100, 3), (8, 2), (8, 9)] {
        let record = Record {
            end,
            id_len: 0,
            type_len,
            metadata_len: 0,
            occurred_on_ms: 0,
            uuid: [0; 16],
            position: 0,
        };
        assert!(chunk.event(0, &record).is_none(), "{end} {type_len}");
    }
}

fn event_with(data_json: &str) -> EventFields<'_> {
    EventFields {
        type_json: "\"T\"",
        data_json,
        metadata_json: "{}",
        event_id: EventId::Uuid([7; 16]),
        occurred_on_ms: 0,
    }
}

/// The memory storage never suspends: its futures are ready at the first poll.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).poll(&mut cx) {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => panic!("the memory storage suspended"),
    }
}

fn loaded(storage: &MemoryStorage, after: i64) -> Vec<serde_json::Value> {
    loaded_at_most(storage, after, None)
}

fn loaded_at_most(
    storage: &MemoryStorage,
    after: i64,
    limit: Option<usize>,
) -> Vec<serde_json::Value> {
    let mut sink = RecordSink::new("s", after, false).with_limit(limit);
    ready(storage.load("s", after, &mut sink)).unwrap();
    serde_json::from_str(&sink.finish().unwrap()).unwrap()
}

#[test]
fn streams_go_on_in_new_chunks_and_load_from_any_version() {
    let storage = MemoryStorage::new();
    let big = format!("\"{}\"", "x".repeat(CHUNK_TEXT / 3));
    let mut version = -1;
    // Big events (three to a chunk's text), then batches of small ones (past the records
    // bound), then big ones again.
    let batches: Vec<Vec<EventFields<'_>>> = (0..4)
        .map(|_| vec![event_with(&big)])
        .chain((0..5).map(|_| vec![event_with("1"); CHUNK_RECORDS / 2 + 1]))
        .chain((0..4).map(|_| vec![event_with(&big)]))
        .collect();
    for batch in &batches {
        let outcome = ready(storage.append("s", version, batch));
        assert_eq!(outcome, Ok(AppendOutcome::Appended));
        version += batch.len() as i64;
    }
    let chunks = storage.state.borrow().stream("s").unwrap().chunks.len();
    assert!(chunks >= 5, "{chunks} chunks");
    let all = loaded(&storage, -1);
    assert_eq!(all.len() as i64, version + 1);
    let total = all.len();
    for after in [
        -1,
        0,
        2,
        3,
        4,
        5,
        8_000,
        (total - 6) as i64,
        (total - 2) as i64,
        version,
        version + 5,
    ] {
        let tail = loaded(&storage, after);
        let skip = usize::try_from(after + 1).unwrap_or(0).min(total);
        assert_eq!(tail.len(), total - skip, "after {after}");
        for (event, expected) in tail.iter().zip(&all[skip..]) {
            assert_eq!(event, expected, "after {after}");
        }
    }
    // Limited loads across the chunks' boundaries take exactly the events asked for.
    for (after, limit) in [
        (-1, 1),
        (2, 3),
        (3, 2),
        (5, 9_000),
        ((total - 3) as i64, 10),
    ] {
        let skip = usize::try_from(after + 1).unwrap_or(0);
        let expected = &all[skip..(skip + limit).min(total)];
        assert_eq!(
            loaded_at_most(&storage, after, Some(limit)),
            expected,
            "after {after}, limit {limit}"
        );
    }
    assert_eq!(all[3]["data"].as_str().map(str::len), Some(CHUNK_TEXT / 3));
    assert_eq!(all[4]["data"], 1);
}

#[test]
fn room_the_memory_cannot_give_changes_nothing() {
    let mut stream = Stream::default();
    stream.room(10, 1).unwrap().push(&event_with("1"), 0);
    let shape = |s: &Stream| {
        s.chunks
            .iter()
            .map(|c| (c.first, c.text.clone(), c.records.len()))
            .collect::<Vec<_>>()
    };
    let before = shape(&stream);
    assert!(stream.room(usize::MAX / 2, 1).is_err());
    assert!(stream.room(10, usize::MAX / 64).is_err());
    assert!(stream.room(CHUNK_TEXT * 4, usize::MAX / 64).is_err());
    assert_eq!(shape(&stream), before);
    assert_eq!(stream.version(), 0);
}

#[test]
fn the_global_log_grows_within_blocks_and_names_every_position() {
    let mut log = super::log::Log::default();
    log.reserve(3).unwrap();
    for version in 0..3 {
        log.push(super::log::Entry { stream: 1, version });
    }
    // A small log takes little room, and growing past a block keeps every entry.
    let total = (1 << 16) * 2 + 5;
    for version in 3..total {
        log.reserve(1).unwrap();
        log.push(super::log::Entry { stream: 2, version });
    }
    assert_eq!(log.len(), total as usize);
    for position in [0, 2, 3, 65_535, 65_536, 131_072, total as usize - 1] {
        let entry = log.get(position).unwrap();
        assert_eq!(entry.version as usize, position);
        assert_eq!(entry.stream, if position < 3 { 1 } else { 2 });
    }
    assert!(log.get(total as usize).is_none());
    // Room for a big append in one step, across blocks.
    log.reserve(200_000).unwrap();
    assert!(log.reserve(usize::MAX).is_err());
    assert_eq!(log.len(), total as usize);
}

#[test]
fn a_new_stream_whose_room_cannot_be_had_is_not_added() {
    let storage = MemoryStorage::new();
    let mut state = storage.state.borrow_mut();
    assert!(state.add_stream("new", usize::MAX / 2, 1).is_err());
    assert!(state.add_stream("new", 10, usize::MAX / 64).is_err());
    assert_eq!(state.streams.len(), 0);
    assert!(state.stream("new").is_none());
    assert_eq!(state.add_stream("new", 10, 1), Ok(0));
    assert_eq!(state.stream("new").map(|s| s.version()), Some(-1));
}
