use super::*;
use crate::sync::Confirmed;

fn generator() -> IdGenerator {
    IdGenerator::new([7; 32])
}

fn append(outbox: &mut Outbox, id: &str, confirmed: i64, expected: i64, events: &str) -> String {
    let entry = outbox
        .prepare_append(
            id,
            Confirmed::at(confirmed),
            expected,
            events,
            0,
            &mut generator(),
        )
        .unwrap()
        .unwrap();
    outbox.apply(outbox.applied() + 1, &entry).unwrap();
    entry
}

fn ids_of(outbox: &Outbox, id: &str) -> Vec<String> {
    outbox.streams[id]
        .batches
        .iter()
        .flat_map(|b| b.events.ids().to_vec())
        .collect()
}

#[test]
fn appends_check_the_view_and_keep_their_base() {
    let mut outbox = Outbox::new();
    append(&mut outbox, "a", 2, 2, r#"[{"type":"T","eventId":"e1"}]"#);
    assert_eq!(outbox.view_version("a", Confirmed::at(2)), 3);
    assert_eq!(
        outbox.prepare_append(
            "a",
            Confirmed::at(2),
            2,
            r#"[{"type":"T"}]"#,
            0,
            &mut generator()
        ),
        Err(PrepareError::Conflict { actual: 3 })
    );
    append(&mut outbox, "a", 2, 3, r#"[{"type":"T","eventId":"e2"}]"#);
    assert_eq!(outbox.pending_aggregates(), vec![("a".to_string(), 2)]);
    let pending = outbox.pending_json("a", Confirmed::at(2), 3, None);
    assert!(
        pending.contains(r#""version":4"#) && !pending.contains(r#""version":3"#),
        "{pending}"
    );
    assert!(pending.contains(r#""pending":true"#));
}

#[test]
fn confirmed_own_events_settle_and_foreign_ones_ask_for_a_rebase() {
    let mut outbox = Outbox::new();
    append(&mut outbox, "a", -1, -1, r#"[{"type":"T","eventId":"e1"}]"#);
    append(&mut outbox, "a", -1, 0, r#"[{"type":"T","eventId":"e2"}]"#);
    match outbox.reconcile("a", 0, &["e1".into()]) {
        Reconcile::Settle {
            entry,
            confirmed: 1,
        } => outbox.apply(outbox.applied() + 1, &entry).unwrap(),
        other => panic!("{other:?}"),
    }
    assert_eq!(ids_of(&outbox, "a"), vec!["e2"]);
    assert_eq!(outbox.streams["a"].base, 0);
    match outbox.reconcile("a", 1, &["x".into()]) {
        Reconcile::Rebase {
            base: 1,
            missed_from: 0,
            pending_json,
        } => {
            assert!(pending_json.contains(r#""version":2"#), "{pending_json}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pushes_chain_expected_versions_and_conflicts_block_the_aggregate() {
    let mut outbox = Outbox::new();
    append(&mut outbox, "a", 4, 4, r#"[{"type":"T"},{"type":"T"}]"#);
    append(&mut outbox, "b", -1, -1, r#"[{"type":"T"}]"#);
    append(&mut outbox, "a", 4, 6, r#"[{"type":"T"}]"#);
    let request = outbox.plan_push(100, 1000, 1 << 20).unwrap();
    let batches = parse_push(&request);
    assert_eq!(
        batches,
        vec![("a".into(), 4), ("b".into(), -1), ("a".into(), 6)]
    );
    outbox
        .push_results(r#"[{"status":"ok","version":6},{"status":"conflict","actualVersion":0},{"status":"ok","version":7}]"#)
        .unwrap();
    assert_eq!(
        outbox.plan_push(100, 1000, 1 << 20),
        None,
        "sent and blocked batches wait"
    );
}

#[test]
fn a_push_is_split_by_its_limits_without_reordering_a_stream() {
    let mut outbox = Outbox::new();
    append(&mut outbox, "a", -1, -1, r#"[{"type":"T"},{"type":"T"}]"#);
    append(&mut outbox, "b", -1, -1, r#"[{"type":"T"}]"#);
    append(&mut outbox, "a", -1, 1, r#"[{"type":"T"}]"#);
    let request = outbox.plan_push(100, 2, 1 << 20).unwrap();
    assert_eq!(parse_push(&request), vec![("a".into(), -1)]);
}

#[test]
fn a_refusal_drops_the_batches_from_the_refused_one_and_keeps_accepted_ones() {
    let mut outbox = Outbox::new();
    append(&mut outbox, "a", -1, -1, r#"[{"type":"T","eventId":"e1"}]"#);
    outbox.plan_push(1, 1000, 1 << 20).unwrap();
    outbox
        .push_results(r#"[{"status":"ok","version":0}]"#)
        .unwrap();
    append(&mut outbox, "a", -1, 0, r#"[{"type":"T","eventId":"e2"}]"#);
    append(&mut outbox, "a", -1, 1, r#"[{"type":"T","eventId":"e3"}]"#);
    outbox.plan_push(100, 1000, 1 << 20).unwrap();
    let refusals = outbox.refuse(&[0]);
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].batches.len(), 2);
    assert!(
        refusals[0].batches[0].contains(r#""version":1"#),
        "{:?}",
        refusals[0].batches
    );
    outbox
        .apply(outbox.applied() + 1, &refusals[0].entry)
        .unwrap();
    assert_eq!(ids_of(&outbox, "a"), vec!["e1"]);
}

/// (aggregate, expected version) of each batch of a push request.
fn parse_push(request: &str) -> Vec<(String, i64)> {
    crate::sync::protocol::parse_push(request, &crate::sync::Limits::default())
        .unwrap()
        .into_iter()
        .map(|b| (b.aggregate_id, b.expected_version))
        .collect()
}

#[test]
fn the_view_skips_batches_a_pull_confirmed_before_their_settle_entry_is_written() {
    let mut outbox = Outbox::new();
    append(&mut outbox, "a", -1, -1, r#"[{"type":"T","eventId":"e1"}]"#);
    append(&mut outbox, "a", -1, 0, r#"[{"type":"T","eventId":"e2"}]"#);
    // A pull stored e1 at version 0; no settle entry yet.
    let arrived = ["e1".to_string()];
    assert_eq!(
        outbox.view_version(
            "a",
            Confirmed {
                version: 0,
                arrived: &arrived
            }
        ),
        1
    );
    let pending = outbox.pending_json(
        "a",
        Confirmed {
            version: 0,
            arrived: &arrived,
        },
        -1,
        None,
    );
    assert!(
        pending.contains(r#""eventId":"e2""#) && !pending.contains("e1"),
        "{pending}"
    );
    assert!(pending.contains(r#""version":1"#), "{pending}");
    assert_eq!(
        outbox.prepare_append(
            "a",
            Confirmed {
                version: 0,
                arrived: &arrived
            },
            0,
            r#"[{"type":"T"}]"#,
            0,
            &mut generator()
        ),
        Err(PrepareError::Conflict { actual: 1 })
    );
}

#[test]
fn the_view_skips_the_part_of_a_batch_a_pull_page_confirmed() {
    let mut outbox = Outbox::new();
    append(
        &mut outbox,
        "a",
        -1,
        -1,
        r#"[{"type":"T","eventId":"e1"},{"type":"T","eventId":"e2"}]"#,
    );
    append(&mut outbox, "a", -1, 1, r#"[{"type":"T","eventId":"e3"}]"#);
    let arrived = ["e1".to_string()];
    let confirmed = Confirmed {
        version: 0,
        arrived: &arrived,
    };
    assert_eq!(outbox.view_version("a", confirmed), 2);
    let pending = outbox.pending_json("a", confirmed, -1, None);
    let versions: Vec<(String, i64)> = serde_json::from_str::<Vec<serde_json::Value>>(&pending)
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["eventId"].as_str().unwrap().to_string(),
                e["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, vec![("e2".into(), 1), ("e3".into(), 2)]);
    assert_eq!(
        outbox
            .pending_json("a", confirmed, 1, None)
            .matches("eventId")
            .count(),
        1
    );
}

#[test]
fn pending_state_changes_with_the_aggregate_only() {
    let mut outbox = Outbox::new();
    append(&mut outbox, "a", -1, -1, r#"[{"type":"T","eventId":"e1"}]"#);
    let before = outbox.pending_state("a");
    append(&mut outbox, "b", -1, -1, r#"[{"type":"T","eventId":"x"}]"#);
    assert_eq!(outbox.pending_state("a"), before);
    append(&mut outbox, "a", -1, 0, r#"[{"type":"T","eventId":"e2"}]"#);
    assert_ne!(outbox.pending_state("a"), before);
}

#[test]
fn an_append_after_all_pending_events_were_confirmed_is_decided_on_the_confirmed_stream() {
    let mut outbox = Outbox::new();
    append(&mut outbox, "a", 0, 0, r#"[{"type":"T","eventId":"a1"}]"#);
    // A pull stored a1 (version 1) and another device's x (version 2); no settle entry yet.
    let arrived = ["a1".to_string(), "x".to_string()];
    let confirmed = Confirmed {
        version: 2,
        arrived: &arrived,
    };
    assert_eq!(outbox.view_version("a", confirmed), 2);
    let entry = outbox
        .prepare_append(
            "a",
            confirmed,
            2,
            r#"[{"type":"T","eventId":"c"}]"#,
            0,
            &mut generator(),
        )
        .unwrap()
        .unwrap();
    outbox.apply(outbox.applied() + 1, &entry).unwrap();
    assert_eq!(outbox.pending_aggregates(), vec![("a".to_string(), 2)]);
    assert_eq!(
        outbox.reconcile("a", 2, &[]),
        Reconcile::Unchanged,
        "nothing to rebase: c saw x"
    );
}

#[test]
fn a_batch_stays_sent_when_a_settle_entry_keeps_it() {
    let mut outbox = Outbox::new();
    append(&mut outbox, "a", -1, -1, r#"[{"type":"T","eventId":"e1"}]"#);
    append(&mut outbox, "a", -1, 0, r#"[{"type":"T","eventId":"e2"}]"#);
    outbox.plan_push(100, 1000, 1 << 20).unwrap();
    outbox
        .push_results(r#"[{"status":"ok","version":0},{"status":"ok","version":1}]"#)
        .unwrap();
    // A page brought e1 only: the settle entry keeps e2, which the server has already.
    match outbox.reconcile("a", 0, &["e1".into()]) {
        Reconcile::Settle { entry, .. } => outbox.apply(outbox.applied() + 1, &entry).unwrap(),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        outbox.plan_push(100, 1000, 1 << 20),
        None,
        "e2 is not pushed again"
    );
}
