//! The adapter's `load()` and `loadAll()`, and their answers as the core reads them: the
//! wrapper's `readRecords` (pkg-template/src/core/adapter-answers.mjs) walks the answer in JS and
//! hands over plain values, and this copies them into Rust: every payload joined by NUL (one
//! string, the measured hot path) with the versions, and, as the load asks, the positions and
//! the stream ids (each distinct id once).
use js_sys::{Array, Float64Array, JsString, Reflect, Uint32Array};
use wasm_bindgen::prelude::*;

use super::js_storage::JsStorage;
use super::storage_failure::StorageFailure;
use crate::error::OutOfMemory;
use crate::storage::{LogSink, RecordSink};
use crate::version;

/// What a load needs of each record besides its version and payload (the `mode` argument of
/// `readRecords`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// A stream's load over an adapter without a global log.
    Versions = 0,
    /// A stream's load over an adapter with one: each record's position too.
    Positions = 1,
    /// A load of the global log: position and stream id of each record.
    Places = 2,
}

/// The payloads of an answer, one slice each.
pub(crate) type Payloads<'a> = std::slice::Split<'a, u8, fn(&u8) -> bool>;

/// The records of an answer, read.
pub(crate) struct Records {
    /// The payloads' UTF-8, joined by NUL.
    pub(crate) bytes: Vec<u8>,
    pub(crate) versions: Vec<f64>,
    /// One per record (NaN: none) when positions were wanted, else empty.
    pub(crate) positions: Vec<f64>,
    /// The distinct stream ids, and for each record the index of its own (for `Places`).
    pub(crate) ids: Vec<String>,
    pub(crate) id_of: Vec<u32>,
    /// Why reading stopped early, after the records it read.
    pub(crate) problem: Option<String>,
}

impl Records {
    /// The payloads, one per record ([`JsStorage::read_records`] checked that they split so).
    pub(crate) fn payloads(&self) -> Payloads<'_> {
        let is_nul: fn(&u8) -> bool = |&byte| byte == 0;
        self.bytes.split(is_nul)
    }

    /// Record `i`'s position as the sinks take it: `None` when it has none, an invalid one
    /// (-1) when it is not a safe integer.
    pub(crate) fn position(&self, i: usize) -> Option<i64> {
        let position = *self.positions.get(i)?;
        if position.is_nan() {
            None
        } else {
            Some(version::expected_version(position).unwrap_or(-1))
        }
    }

    /// Record `i`'s stream id.
    pub(crate) fn id(&self, i: usize) -> Option<&str> {
        let index = *self.id_of.get(i)?;
        self.ids.get(index as usize).map(String::as_str)
    }
}

/// Copies a typed array's values into a Vec, reserved fallibly.
fn copied<T: Default + Clone>(
    length: u32,
    copy: impl FnOnce(&mut [T]),
) -> Result<Vec<T>, StorageFailure> {
    let count = length as usize;
    let mut values = Vec::new();
    values.try_reserve_exact(count).map_err(|_| {
        StorageFailure::out_of_memory(OutOfMemory::new(
            "the loaded records",
            count.saturating_mul(8),
        ))
    })?;
    values.resize(count, T::default());
    copy(&mut values);
    Ok(values)
}

impl JsStorage {
    /// Reads `answer` (of `method`) as `wanted` says. `Ok(Err(reason))`: the answer could not
    /// be read at all (the load reports it as corrupt); `Err`: memory ran out.
    pub(crate) fn read_records(
        &self,
        method: &str,
        answer: &JsValue,
        wanted: Wanted,
    ) -> Result<Result<Records, String>, StorageFailure> {
        let read = self
            .helpers
            .read_records
            .call3(
                &JsValue::NULL,
                answer,
                &JsValue::from_str(method),
                &JsValue::from_f64(f64::from(wanted as u8)),
            )
            .unwrap_or(JsValue::UNDEFINED);
        let part = |i| Reflect::get_u32(&read, i).ok();
        if part(3).is_some_and(|p| p.is_string()) {
            // The payloads are more text than one JS string holds (see readRecords).
            return Err(StorageFailure::out_of_memory(
                OutOfMemory::too_long_for_a_string("the loaded payloads"),
            ));
        }
        let text = part(0).and_then(|t| t.dyn_into::<JsString>().ok());
        let versions = part(1).and_then(|v| v.dyn_into::<Float64Array>().ok());
        let (Some(text), Some(versions)) = (text, versions) else {
            return Ok(Err(format!("{method}()'s answer could not be read")));
        };
        let Some(bytes) = self.utf8(&text).map_err(StorageFailure::out_of_memory)? else {
            return Ok(Err(format!("{method}()'s payloads could not be copied")));
        };
        let versions = copied(versions.length(), |out| versions.copy_to(out))?;
        let separators = bytes.iter().filter(|&&byte| byte == 0).count();
        if !versions.is_empty() && separators + 1 != versions.len() {
            return Ok(Err(format!(
                "{method}() returned a payload with a NUL character, which no JSON text holds"
            )));
        }
        let mut records = Records {
            bytes,
            versions,
            positions: Vec::new(),
            ids: Vec::new(),
            id_of: Vec::new(),
            problem: part(2).and_then(|p| p.as_string()),
        };
        if wanted != Wanted::Versions {
            let Some(positions) = part(4).and_then(|p| p.dyn_into::<Float64Array>().ok()) else {
                return Ok(Err(format!("{method}()'s positions could not be read")));
            };
            records.positions = copied(positions.length(), |out| positions.copy_to(out))?;
        }
        if wanted == Wanted::Places {
            let ids = part(5).and_then(|i| i.dyn_into::<Array>().ok());
            let id_of = part(6).and_then(|i| i.dyn_into::<Uint32Array>().ok());
            let (Some(ids), Some(id_of)) = (ids, id_of) else {
                return Ok(Err(format!("{method}()'s stream ids could not be read")));
            };
            records.id_of = copied(id_of.length(), |out| id_of.copy_to(out))?;
            let count = ids.length() as usize;
            records.ids.try_reserve_exact(count).map_err(|_| {
                StorageFailure::out_of_memory(OutOfMemory::new(
                    "the loaded stream ids",
                    count.saturating_mul(size_of::<String>()),
                ))
            })?;
            for id in ids.iter() {
                // Copied like the payloads: fallibly, by the native encoder.
                let id = id.dyn_into::<JsString>().ok().map(|id| self.utf8(&id));
                let id = match id {
                    Some(copied) => copied.map_err(StorageFailure::out_of_memory)?,
                    None => None,
                };
                match id.map(String::from_utf8) {
                    Some(Ok(id)) => records.ids.push(id),
                    _ => return Ok(Err(format!("{method}()'s stream ids could not be read"))),
                }
            }
        }
        Ok(Ok(records))
    }

    /// `Storage::load`: the stream's records after `after_version` into `sink`.
    pub(crate) async fn load_stream(
        &self,
        aggregate_id: &str,
        after_version: i64,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), StorageFailure> {
        // The load's limit, when it has one, so the adapter need not read what is not wanted
        // (it may answer more: the sink stops at the limit).
        let limit = match sink.remaining() {
            usize::MAX => JsValue::UNDEFINED,
            limit => JsValue::from_f64(limit as f64),
        };
        let args = [
            JsValue::from_str(aggregate_id),
            JsValue::from_f64(after_version as f64),
            limit,
        ];
        let answer = self.call("load", &self.load, &args).await?;
        let wanted = if self.load_all.is_some() {
            Wanted::Positions
        } else {
            Wanted::Versions
        };
        let records = match self.read_records("load", &answer, wanted)? {
            Ok(records) => records,
            Err(reason) => {
                sink.reject(reason);
                return Ok(());
            }
        };
        let payloads = records.payloads();
        for (i, (&version, payload)) in records.versions.iter().zip(payloads).enumerate() {
            if !sink.wants_more() {
                break;
            }
            let version = version::expected_version(version).ok();
            match (version, std::str::from_utf8(payload)) {
                (Some(version), Ok(payload)) => sink.push_at(version, records.position(i), payload),
                _ => sink.reject(
                    "load() returned a record without an integer version and a string payload",
                ),
            }
        }
        // A problem past the limit is not part of this load (the records before it were read).
        if let (Some(problem), true) = (records.problem, sink.wants_more()) {
            sink.reject(problem);
        }
        Ok(())
    }

    /// `Storage::load_all`: a page of the global log after `after_position` into `sink`.
    pub(crate) async fn load_log(
        &self,
        after_position: i64,
        limit: usize,
        sink: &mut LogSink,
    ) -> Result<(), StorageFailure> {
        let Some(load_all) = &self.load_all else {
            return Ok(()); // not called: the store checks global_log() first
        };
        let args = [
            JsValue::from_f64(after_position as f64),
            JsValue::from_f64(limit as f64),
        ];
        let answer = self.call("loadAll", load_all, &args).await?;
        let records = match self.read_records("loadAll", &answer, Wanted::Places)? {
            Ok(records) => records,
            Err(reason) => {
                sink.reject(reason);
                return Ok(());
            }
        };
        if records.versions.len() > limit {
            sink.reject(format!(
                "loadAll() answered {} records, more than the {limit} it was asked for",
                records.versions.len()
            ));
            return Ok(());
        }
        let payloads = records.payloads();
        for (i, (&version, payload)) in records.versions.iter().zip(payloads).enumerate() {
            if !sink.wants_more() {
                break;
            }
            let version = version::expected_version(version).ok();
            let position = records.position(i);
            match (
                version,
                position,
                records.id(i),
                std::str::from_utf8(payload),
            ) {
                (Some(version), Some(position), Some(id), Ok(payload)) => {
                    sink.push(id, version, position, payload)
                }
                (_, None, _, _) => sink.reject("loadAll() returned a record without a position"),
                _ => sink.reject(
                    "loadAll() returned a record without a string aggregateId, an integer \
                     version and a string payload",
                ),
            }
        }
        if let (Some(problem), true) = (records.problem, sink.wants_more()) {
            sink.reject(problem);
        }
        Ok(())
    }
}
