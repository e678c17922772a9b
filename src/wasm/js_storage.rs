//! `JsStorage`: a host-provided JS `StorageAdapter` as the core's [`Storage`].
//!
//! The adapter is untrusted: it may throw, answer with anything, or hand back hostile proxies.
//! Nothing it returns is walked from Rust. The wrapper's readers (`pkg-template/src/core/
//! adapter-answers.mjs`) read each answer in JS, where a throwing getter is caught and reading a
//! record costs no crossing, and hand over plain values: load()'s payloads as one string (the
//! measured hot path), append()'s answer as a fresh `{ ok, actualVersion, type }` that
//! serde-wasm-bindgen turns into [`AppendAnswer`]. The records an append stores go out the same
//! way, as serialised [`StoredRecord`]s.
use js_sys::{Array, Function, JsString, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::adapter_values::{AppendAnswer, Helpers, StoredRecord};
use super::convert::fits_a_js_string;
use super::storage_failure::{described, type_name, StorageFailure};
use crate::error::OutOfMemory;
use crate::json::json_string;
use crate::payload;
use crate::record::EventFields;
use crate::storage::{AppendOutcome, LogSink, RecordSink, Storage};
use crate::time::IsoCache;
use crate::version;

/// A host-provided `StorageAdapter` object, called through its three methods and, when it has
/// them, the global log's `loadAll` and `lastPosition`.
pub struct JsStorage {
    adapter: JsValue,
    pub(crate) load: Function,
    version: Function,
    append: Function,
    pub(crate) load_all: Option<Function>,
    last_position: Option<Function>,
    pub(crate) helpers: Helpers,
}

fn method(adapter: &JsValue, name: &str) -> Result<Function, String> {
    Reflect::get(adapter, &JsValue::from_str(name))
        .ok()
        .and_then(|m| m.dyn_into::<Function>().ok())
        .ok_or_else(|| {
            format!("options.storage must implement {name}(); it has no {name} method (a StorageAdapter needs load, version and append)")
        })
}

/// An optional method: `None` when the adapter has no such member, an error when it has one
/// that is not a function.
fn optional_method(adapter: &JsValue, name: &str) -> Result<Option<Function>, String> {
    let member = Reflect::get(adapter, &JsValue::from_str(name))
        .map_err(|_| format!("options.storage.{name} cannot be read"))?;
    if member.is_undefined() || member.is_null() {
        return Ok(None);
    }
    member
        .dyn_into::<Function>()
        .map(Some)
        .map_err(|_| format!("options.storage.{name} must be a function (or absent)"))
}

impl JsStorage {
    pub fn new(adapter: JsValue, helpers: Helpers) -> Result<Self, String> {
        if !adapter.is_object() {
            return Err("options.storage must be a StorageAdapter object".to_string());
        }
        Ok(JsStorage {
            load: method(&adapter, "load")?,
            version: method(&adapter, "version")?,
            append: method(&adapter, "append")?,
            load_all: optional_method(&adapter, "loadAll")?,
            last_position: optional_method(&adapter, "lastPosition")?,
            adapter,
            helpers,
        })
    }

    /// The UTF-8 bytes of a JS string, copied by native `TextEncoder.encodeInto` rather than
    /// wasm-bindgen's string conversion, which copies ASCII one character at a time. The buffer
    /// starts at one byte per UTF-16 unit (exact for ASCII, the usual JSON) and grows only for
    /// what does not fit, so a load never holds three times its payloads.
    /// `Ok(None)`: the copier misbehaved; `Err`: the memory could not hold the bytes.
    pub(crate) fn utf8(&self, text: &JsString) -> Result<Option<Vec<u8>>, OutOfMemory> {
        let units = text.length() as usize;
        let mut bytes = Vec::new();
        grow(&mut bytes, units)?;
        let (mut read, mut written) = (0usize, 0usize);
        loop {
            let Some(free) = bytes.get_mut(written..) else {
                return Ok(None);
            };
            let args = Array::of4(
                text,
                &JsValue::from_f64(read as f64),
                &JsValue::from_f64(free.as_mut_ptr() as usize as f64),
                &JsValue::from_f64(free.len() as f64),
            );
            let Ok(answer) = self.helpers.encode_into.apply(&JsValue::NULL, &args) else {
                return Ok(None);
            };
            // [UTF-16 units read, bytes written]
            let step = |i| Reflect::get_u32(&answer, i).ok()?.as_f64();
            let (Some(more_read), Some(more_written)) = (step(0), step(1)) else {
                return Ok(None);
            };
            read += more_read as usize;
            written += more_written as usize;
            if read >= units {
                bytes.truncate(written);
                return Ok(Some(bytes));
            }
            if more_read == 0.0 && more_written == 0.0 && bytes.len() > written {
                return Ok(None); // no progress with room left: never expected
            }
            // UTF-8 takes at most 3 bytes per UTF-16 unit.
            let size = (units - read)
                .checked_mul(3)
                .and_then(|more| written.checked_add(more))
                .ok_or(OutOfMemory::new("the loaded payloads", usize::MAX))?;
            grow(&mut bytes, size)?;
        }
    }

    /// The method's answer, awaited when it is a Promise (or any thenable).
    pub(crate) async fn call(
        &self,
        name: &str,
        function: &Function,
        args: &[JsValue],
    ) -> Result<JsValue, StorageFailure> {
        let list = args.iter().collect::<Array>();
        let value = function
            .apply(&self.adapter, &list)
            .map_err(|e| StorageFailure::thrown(name, e))?;
        if value.is_object() || value.is_function() {
            // Settle a fresh native Promise with the answer rather than calling
            // `Promise.resolve(answer)`: that returns a native Promise as it is and then calls its
            // own (possibly throwing) `then` from here, and reads its `constructor`. A resolve
            // function reads `then` itself and turns every throw into a rejection.
            let settled = Promise::new(&mut |resolve, _reject| {
                let _ = resolve.call1(&JsValue::UNDEFINED, &value);
            });
            JsFuture::from(settled)
                .await
                .map_err(|e| StorageFailure::thrown(name, e))
        } else {
            Ok(value)
        }
    }
}

/// Makes `bytes` `size` long (zeroed), fallibly.
fn grow(bytes: &mut Vec<u8>, size: usize) -> Result<(), OutOfMemory> {
    if size > bytes.len() {
        bytes
            .try_reserve_exact(size - bytes.len())
            .map_err(|_| OutOfMemory::new("the loaded payloads", size))?;
    }
    bytes.resize(size, 0);
    Ok(())
}

/// A version an adapter answered: an integer from -1 to 2^53-1, like an expected version.
fn as_version(value: f64) -> Option<i64> {
    version::expected_version(value).ok()
}

impl Storage for JsStorage {
    type Error = StorageFailure;

    fn out_of_memory(error: &StorageFailure) -> Option<OutOfMemory> {
        error.out_of_memory_error()
    }

    fn global_log(&self) -> Result<(), String> {
        match self.load_all {
            Some(_) => Ok(()),
            None => Err(
                "the storage adapter has no loadAll method: loadAllEvents, getLastPosition \
                 and subscriptions by position need an adapter with a global log \
                 (loadAll(afterPosition, limit) and lastPosition())"
                    .to_string(),
            ),
        }
    }

    fn has_last_position(&self) -> Result<(), String> {
        match self.last_position {
            Some(_) => Ok(()),
            None => Err(
                "the storage adapter has no lastPosition method: getLastPosition needs it".into(),
            ),
        }
    }

    async fn load(
        &self,
        aggregate_id: &str,
        after_version: i64,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), StorageFailure> {
        self.load_stream(aggregate_id, after_version, sink).await
    }

    async fn load_all(
        &self,
        after_position: i64,
        limit: usize,
        sink: &mut LogSink,
    ) -> Result<(), StorageFailure> {
        self.load_log(after_position, limit, sink).await
    }

    async fn last_position(&self) -> Result<i64, StorageFailure> {
        let Some(last_position) = &self.last_position else {
            return Ok(-1); // not called: the store checks has_last_position() first
        };
        let value = self.call("lastPosition", last_position, &[]).await?;
        value.as_f64().and_then(as_version).ok_or_else(|| {
            let what = match value.as_f64() {
                Some(number) => format!("the number {number}"),
                None => described(&type_name(&value)),
            };
            StorageFailure::contract(format!(
                "the storage adapter's lastPosition() answered {what}; it must answer the \
                 highest position, an integer from -1 (an empty log) to 2^53-1"
            ))
        })
    }

    async fn version(&self, aggregate_id: &str) -> Result<i64, StorageFailure> {
        let value = self
            .call("version", &self.version, &[JsValue::from_str(aggregate_id)])
            .await?;
        value.as_f64().and_then(as_version).ok_or_else(|| {
            let what = match value.as_f64() {
                Some(number) => format!("the number {number}"),
                None => described(&type_name(&value)),
            };
            StorageFailure::contract(format!(
                "the storage adapter's version() answered {what}; it must answer the stream's \
                 last version, an integer from -1 (no such stream) to 2^53-1"
            ))
        })
    }

    async fn append(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        events: &[EventFields<'_>],
    ) -> Result<AppendOutcome, StorageFailure> {
        // Every payload back to back in one string, then a record for each slice of it.
        let id_json = json_string(aggregate_id);
        let mut times = IsoCache::default();
        // Checked: on wasm32 a batch of millions of small events can sum past usize.
        let bound = events
            .iter()
            .try_fold(0usize, |sum, e| sum.checked_add(e.payload_len(&id_json)))
            .ok_or_else(|| {
                StorageFailure::out_of_memory(OutOfMemory::new("the payloads", usize::MAX))
            })?;
        let no_room = |_| StorageFailure::out_of_memory(OutOfMemory::new("the payloads", bound));
        let mut text = String::new();
        text.try_reserve_exact(bound).map_err(no_room)?;
        let mut ends = Vec::new();
        ends.try_reserve_exact(events.len()).map_err(no_room)?;
        for (version, event) in (expected_version + 1..).zip(events) {
            payload::encode_into(&mut text, &id_json, version, event, &mut times);
            ends.push(text.len());
        }
        let starts = std::iter::once(0).chain(ends.iter().copied());
        let mut records: Vec<StoredRecord<'_>> = Vec::new();
        records.try_reserve_exact(events.len()).map_err(no_room)?;
        records.extend((expected_version + 1..).zip(starts.zip(&ends)).map(
            |(version, (start, &end))| StoredRecord {
                version: version as f64,
                payload: text.get(start..end).unwrap_or_default(),
            },
        ));
        // Each payload becomes a JS string in here: one too long to be sure it fits is refused
        // before any is made.
        for record in &records {
            fits_a_js_string(record.payload, "a payload").map_err(StorageFailure::out_of_memory)?;
        }
        let records = serde_wasm_bindgen::to_value(&records).map_err(|error| {
            StorageFailure::contract(format!("the records could not be handed over: {error}"))
        })?;
        let args = [
            JsValue::from_str(aggregate_id),
            JsValue::from_f64(expected_version as f64),
            records,
        ];
        let answer = self.call("append", &self.append, &args).await?;
        let read = self
            .helpers
            .read_append_answer
            .call1(&JsValue::NULL, &answer)
            .ok()
            .and_then(|read| serde_wasm_bindgen::from_value::<AppendAnswer>(read).ok());
        let (ok, actual, type_name) = match read {
            Some(answer) => (
                answer.ok,
                answer.actual_version.and_then(as_version),
                answer.type_name,
            ),
            None => (None, None, type_name(&answer)),
        };
        let rule = "it must answer { ok: true } when it stored the records, or { ok: false, \
                    actualVersion } with the stream's real version when the stream was not at \
                    the expected version";
        match (ok, actual) {
            (Some(true), _) => Ok(AppendOutcome::Appended),
            (Some(false), Some(actual_version)) if actual_version != expected_version => {
                Ok(AppendOutcome::Conflict { actual_version })
            }
            (Some(false), Some(_)) => Err(StorageFailure::contract(format!(
                "the storage adapter's append() answered {{ ok: false }} with actualVersion \
                 {expected_version}, which is the expected version: if the stream is at the \
                 expected version, the append must store the records; {rule}"
            ))),
            (Some(false), None) => Err(StorageFailure::contract(format!(
                "the storage adapter's append() answered {{ ok: false }} without an integer \
                 actualVersion from -1; {rule}"
            ))),
            (None, _) => Err(StorageFailure::contract(format!(
                "the storage adapter's append() answered {} without a boolean ok; {rule}",
                described(&type_name)
            ))),
        }
    }
}
