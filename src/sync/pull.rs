//! A pulled page of the server's log, as appends to the device's streams.
//!
//! The page holds recorded events in the server's order (only of aggregates the caller may
//! read). Consecutive events of one aggregate become one append, at the version the device has
//! for it, in page order, so the device's own log keeps the server's order. Events the device
//! has already (a page read again after a crash before its checkpoint was written) are skipped;
//! a version the device has not reached is a gap the device cannot fill, and is an error.
use std::collections::BTreeMap;

use serde::Deserialize;

/// What a pull needs of one event of a page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PageEvent {
    #[serde(rename = "aggregateId")]
    pub aggregate_id: String,
    pub version: i64,
    pub position: i64,
}

/// Events `start..end` of the page, appended to `aggregate_id` at `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullAppend {
    pub aggregate_id: String,
    pub expected_version: i64,
    pub start: usize,
    pub end: usize,
}

/// Reads the page's events (extra members are ignored).
pub fn parse_page(page_json: &str) -> Result<Vec<PageEvent>, String> {
    serde_json::from_str(page_json)
        .map_err(|error| format!("the server's page of events cannot be read: {error}"))
}

/// The appends that apply `page` (pulled after position `after`) over the device's confirmed
/// versions `versions` (every aggregate of the page; absent: -1).
pub fn plan_pull(
    page: &[PageEvent],
    after: i64,
    versions: &BTreeMap<String, i64>,
) -> Result<Vec<PullAppend>, String> {
    let mut versions = versions.clone();
    let mut appends: Vec<PullAppend> = Vec::new();
    let mut last_position = after;
    for (index, event) in page.iter().enumerate() {
        if event.position <= last_position {
            return Err(format!(
                "the server's page has position {} after position {last_position}",
                event.position
            ));
        }
        last_position = event.position;
        let local = versions.entry(event.aggregate_id.clone()).or_insert(-1);
        if event.version <= *local {
            continue; // applied already
        }
        if event.version != *local + 1 {
            return Err(format!(
                "the server's page skips from version {} to {} of aggregate {}; this device \
                 cannot fill the gap (was it allowed to read the aggregate only later?)",
                *local, event.version, event.aggregate_id
            ));
        }
        *local = event.version;
        match appends.last_mut() {
            Some(last) if last.aggregate_id == event.aggregate_id && last.end == index => {
                last.end = index + 1;
            }
            _ => appends.push(PullAppend {
                aggregate_id: event.aggregate_id.clone(),
                expected_version: event.version - 1,
                start: index,
                end: index + 1,
            }),
        }
    }
    Ok(appends)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(aggregate_id: &str, version: i64, position: i64) -> PageEvent {
        PageEvent {
            aggregate_id: aggregate_id.into(),
            version,
            position,
        }
    }

    #[test]
    fn groups_runs_of_one_aggregate_and_skips_what_the_device_has() {
        let page = [
            event("a", 0, 1),
            event("a", 1, 2),
            event("b", 5, 3),
            event("a", 2, 4),
        ];
        let versions = BTreeMap::from([("b".to_string(), 5)]);
        let appends = plan_pull(&page, 0, &versions).unwrap();
        assert_eq!(
            appends,
            vec![
                PullAppend {
                    aggregate_id: "a".into(),
                    expected_version: -1,
                    start: 0,
                    end: 2
                },
                PullAppend {
                    aggregate_id: "a".into(),
                    expected_version: 1,
                    start: 3,
                    end: 4
                },
            ]
        );
    }

    #[test]
    fn refuses_gaps_and_positions_out_of_order() {
        assert!(plan_pull(&[event("a", 1, 1)], 0, &BTreeMap::new())
            .unwrap_err()
            .contains("skips"));
        assert!(plan_pull(&[event("a", 0, 3), event("a", 1, 3)], 0, &BTreeMap::new()).is_err());
        assert!(plan_pull(&[event("a", 0, 3)], 3, &BTreeMap::new()).is_err());
    }
}
