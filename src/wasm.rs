//! The `#[wasm_bindgen]` layer: converts arguments and errors, nothing else.
//!
//! No exported method keeps `self` borrowed while JS runs, so concurrent calls from JS can never
//! meet a "recursive use of an object" error: the in-memory store's methods are synchronous (it
//! never suspends; the JS wrapper makes Promises of them), and the adapter-backed store's methods
//! clone an `Rc` of the core into the future they return as a Promise.
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use js_sys::{Array, Error as JsError, Function, JsString, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::error::StoreError;
use crate::memory::MemoryStorage;
use crate::payload::{self, EventFields};
use crate::ready::poll_once;
use crate::storage::{AppendOutcome, RecordSink, Storage};
use crate::store::EventStore;
use crate::time::IsoCache;
use crate::version;

/// Sets `key` on an error object. `Reflect::set` on a fresh `Error` cannot fail; a failure would
/// only lose a field, never the error itself.
fn set(target: &JsValue, key: &str, value: JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), &value);
}

/// A core error as a JS `Error` with `code` (and the conflict fields); the wrapper turns it into
/// the public typed error classes.
fn to_js<E: fmt::Display + Cause>(error: StoreError<E>) -> JsValue {
    let js = JsValue::from(JsError::new(&error.to_string()));
    set(&js, "code", JsValue::from_str(error.code()));
    if let StoreError::Storage(failure) = &error {
        if let Some(cause) = failure.cause() {
            set(&js, "cause", cause);
        }
    }
    match &error {
        StoreError::Conflict {
            aggregate_id,
            expected,
            actual,
        } => {
            set(&js, "aggregateId", JsValue::from_str(aggregate_id));
            set(&js, "expectedVersion", JsValue::from_f64(*expected as f64));
            set(&js, "actualVersion", JsValue::from_f64(*actual as f64));
        }
        StoreError::Corrupt {
            aggregate_id,
            version,
            ..
        } => {
            set(&js, "aggregateId", JsValue::from_str(aggregate_id));
            set(&js, "version", JsValue::from_f64(*version as f64));
        }
        StoreError::InvalidArgument(_) | StoreError::Storage(_) => {}
    }
    js
}

fn invalid(message: String) -> JsValue {
    to_js(StoreError::<std::convert::Infallible>::InvalidArgument(
        message,
    ))
}

fn internal(message: &str) -> JsValue {
    let js = JsValue::from(JsError::new(message));
    set(&js, "code", JsValue::from_str("INTERNAL"));
    js
}

/// Runs an operation of the in-memory store, which never suspends.
fn run<T, E: fmt::Display + Cause>(
    future: impl std::future::Future<Output = Result<T, StoreError<E>>>,
) -> Result<T, JsValue> {
    poll_once(future)
        .ok_or_else(|| internal("in-memory operation did not complete"))?
        .map_err(to_js)
}

/// `None` crosses to JS as -1, which the wrapper maps to `null`.
fn version_to_js(version: Option<i64>) -> f64 {
    version.map_or(-1.0, |v| v as f64)
}

/// Storage errors that carry the host's original error, reported as the JS error's `cause`.
trait Cause {
    fn cause(&self) -> Option<JsValue>;
}

impl Cause for std::convert::Infallible {
    fn cause(&self) -> Option<JsValue> {
        None
    }
}

/// The wasm memory, for the wrapper to write inputs into (see `MemoryEventStore::input_buffer`).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// The in-memory event store behind the JS `EventStore` class.
#[wasm_bindgen]
pub struct MemoryEventStore {
    inner: EventStore<MemoryStorage>,
    /// Where the wrapper copies a batch's UTF-8 JSON (which it writes into a byte buffer of its
    /// own) before `append_input`: one native copy instead of wasm-bindgen's allocation and
    /// per-character string copy.
    /// Borrowed only inside the synchronous methods below.
    input: RefCell<Vec<u8>>,
}

#[wasm_bindgen]
impl MemoryEventStore {
    /// `seed`: 32 random bytes for the event id generator.
    #[wasm_bindgen(constructor)]
    pub fn new(seed: &[u8]) -> Result<MemoryEventStore, JsValue> {
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| internal("the id seed must be 32 bytes"))?;
        Ok(MemoryEventStore {
            inner: EventStore::new(MemoryStorage::new(), seed),
            input: RefCell::new(Vec::new()),
        })
    }

    /// Appends a batch given as JSON text. Returns the new version, -1 for "no stream".
    pub fn append(
        &self,
        aggregate_id: &str,
        expected_version: f64,
        events_json: &str,
        now_ms: f64,
    ) -> Result<f64, JsValue> {
        let expected = version::expected_version(expected_version).map_err(invalid)?;
        run(self
            .inner
            .append_events(aggregate_id, expected, events_json, now_ms as i64))
        .map(version_to_js)
    }

    /// Makes the input buffer hold at least `capacity` bytes and returns its address in the wasm
    /// memory. The address stays valid until the next call of this method.
    pub fn input_buffer(&self, capacity: usize) -> usize {
        let mut input = self.input.borrow_mut();
        if input.len() < capacity {
            input.resize(capacity, 0);
        }
        input.as_mut_ptr() as usize
    }

    /// `append`, with its text arguments in the input buffer: the batch's JSON in the first
    /// `json_length` bytes, then the aggregate id's UTF-8 up to byte `length`. Saves the
    /// crossings and the allocation of passing the id as a string.
    pub fn append_input(
        &self,
        expected_version: f64,
        json_length: usize,
        length: usize,
        now_ms: f64,
    ) -> Result<f64, JsValue> {
        let expected = version::expected_version(expected_version).map_err(invalid)?;
        let input = self.input.borrow();
        let text = |range: std::ops::Range<usize>| {
            input
                .get(range)
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .ok_or_else(|| internal("the input buffer does not hold UTF-8 of that length"))
        };
        let events_json = text(0..json_length)?;
        let aggregate_id = text(json_length..length)?;
        run(self
            .inner
            .append_events(aggregate_id, expected, events_json, now_ms as i64))
        .map(version_to_js)
    }

    /// The recorded events after `from_version` as JSON text (an array).
    pub fn load(&self, aggregate_id: &str, from_version: f64) -> Result<String, JsValue> {
        let after = version::from_version(from_version).map_err(invalid)?;
        run(self.inner.load_events_json(aggregate_id, after))
    }

    /// The stream's version, -1 for "no stream".
    pub fn version(&self, aggregate_id: &str) -> Result<f64, JsValue> {
        run(self.inner.current_version(aggregate_id)).map(version_to_js)
    }
}

/// A failure of the host's adapter: what it threw or rejected with (`cause`), or a reply that
/// breaks the adapter contract.
pub struct StorageFailure {
    message: String,
    cause: Option<JsValue>,
}

impl fmt::Display for StorageFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Cause for StorageFailure {
    fn cause(&self) -> Option<JsValue> {
        self.cause.clone()
    }
}

impl StorageFailure {
    fn thrown(method: &str, cause: JsValue) -> Self {
        // Read the message through Reflect (which reports a throwing getter or a revoked proxy
        // as an error) rather than `instanceof Error`, which would throw right through the wasm.
        let detail = cause
            .as_string()
            .or_else(|| {
                Reflect::get(&cause, &JsValue::from_str("message"))
                    .ok()
                    .and_then(|m| m.as_string())
            })
            .unwrap_or_else(|| format!("a thrown {}", type_name(&cause)));
        StorageFailure {
            message: format!("storage adapter's {method}() failed: {detail}"),
            cause: Some(cause),
        }
    }

    fn contract(message: String) -> Self {
        StorageFailure {
            message,
            cause: None,
        }
    }
}

/// A host-provided `StorageAdapter` object, called through its three methods.
pub struct JsStorage {
    adapter: JsValue,
    load: Function,
    version: Function,
    append: Function,
    /// The wrapper's reader of load() answers (`readRecords` in api.cjs), see `load`.
    read_records: Function,
    /// The wrapper's `(text, from, address, capacity) => [units read, bytes written]`: copies
    /// `text` from UTF-16 unit `from` as UTF-8 into the wasm memory at `address`, at most
    /// `capacity` bytes (see `utf8`).
    encode_into: Function,
}

fn method(adapter: &JsValue, name: &str) -> Result<Function, String> {
    Reflect::get(adapter, &JsValue::from_str(name))
        .ok()
        .and_then(|m| m.dyn_into::<Function>().ok())
        .ok_or_else(|| {
            format!("options.storage must implement {name}(); it has no {name} method (a StorageAdapter needs load, version and append)")
        })
}

impl JsStorage {
    fn new(
        adapter: JsValue,
        read_records: Function,
        encode_into: Function,
    ) -> Result<Self, String> {
        if !adapter.is_object() {
            return Err("options.storage must be a StorageAdapter object".to_string());
        }
        Ok(JsStorage {
            load: method(&adapter, "load")?,
            version: method(&adapter, "version")?,
            append: method(&adapter, "append")?,
            adapter,
            read_records,
            encode_into,
        })
    }

    /// The UTF-8 bytes of a JS string, copied by native `TextEncoder.encodeInto` rather than
    /// wasm-bindgen's string conversion, which copies ASCII one character at a time. The buffer
    /// starts at one byte per UTF-16 unit (exact for ASCII, the usual JSON) and grows only for
    /// what does not fit, so a load never holds three times its payloads.
    fn utf8(&self, text: &JsString) -> Option<Vec<u8>> {
        let units = text.length() as usize;
        let mut bytes = vec![0u8; units];
        let (mut read, mut written) = (0usize, 0usize);
        loop {
            let free = bytes.get_mut(written..)?;
            let args = Array::of4(
                text,
                &JsValue::from_f64(read as f64),
                &JsValue::from_f64(free.as_mut_ptr() as usize as f64),
                &JsValue::from_f64(free.len() as f64),
            );
            let answer = self.encode_into.apply(&JsValue::NULL, &args).ok()?;
            // [UTF-16 units read, bytes written]
            let step = |i| Reflect::get_u32(&answer, i).ok()?.as_f64();
            let (more_read, more_written) = (step(0)? as usize, step(1)? as usize);
            read += more_read;
            written += more_written;
            if read >= units {
                bytes.truncate(written);
                return Some(bytes);
            }
            if more_read == 0 && more_written == 0 && bytes.len() > written {
                return None; // no progress with room left: never expected
            }
            // UTF-8 takes at most 3 bytes per UTF-16 unit.
            bytes.resize(written.checked_add((units - read).checked_mul(3)?)?, 0);
        }
    }

    /// The method's answer, awaited when it is a Promise (or any thenable).
    async fn call(
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

/// What an adapter's answer is, for messages, without touching it (`typeof` runs no JS code;
/// formatting the value itself could call its getters).
fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        "null".to_string()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

/// A version an adapter answered: an integer from -1 to 2^53-1, like an expected version.
fn as_version(value: &JsValue) -> Option<i64> {
    value
        .as_f64()
        .and_then(|v| version::expected_version(v).ok())
}

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key)).ok()
}

impl Storage for JsStorage {
    type Error = StorageFailure;

    async fn load(
        &self,
        aggregate_id: &str,
        after_version: i64,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), StorageFailure> {
        let args = [
            JsValue::from_str(aggregate_id),
            JsValue::from_f64(after_version as f64),
        ];
        let records = self.call("load", &self.load, &args).await?;
        // The wrapper's readRecords walks the answer in JS (where reading a record costs no
        // crossing) and hands over every payload joined by NUL, which no JSON text holds, and
        // the versions: [text, Float64Array, problem?]. Payloads then cross as one string
        // instead of one conversion and four calls per record. `problem`, if any, comes after
        // the records it read and says why it stopped; it never throws.
        let read = self
            .read_records
            .call1(&JsValue::NULL, &records)
            .unwrap_or(JsValue::UNDEFINED);
        let text = Reflect::get_u32(&read, 0)
            .ok()
            .and_then(|t| t.dyn_into::<JsString>().ok());
        let versions = Reflect::get_u32(&read, 1)
            .ok()
            .and_then(|v| v.dyn_into::<js_sys::Float64Array>().ok());
        let (Some(text), Some(versions)) = (text, versions) else {
            sink.reject("load()'s answer could not be read");
            return Ok(());
        };
        let Some(bytes) = self.utf8(&text) else {
            sink.reject("load()'s payloads could not be copied");
            return Ok(());
        };
        let versions = versions.to_vec();
        let separators = bytes.iter().filter(|&&byte| byte == 0).count();
        if !versions.is_empty() && separators + 1 != versions.len() {
            sink.reject("load() returned a payload with a NUL character, which no JSON text holds");
            return Ok(());
        }
        let payloads = bytes.split(|&byte| byte == 0);
        for (&version, payload) in versions.iter().zip(payloads) {
            if sink.is_corrupt() {
                break;
            }
            let version = version::expected_version(version).ok();
            match (version, std::str::from_utf8(payload)) {
                (Some(version), Ok(payload)) => sink.push(version, payload),
                _ => sink.reject(
                    "load() returned a record without an integer version and a string payload",
                ),
            }
        }
        if let Some(problem) = Reflect::get_u32(&read, 2).ok().and_then(|p| p.as_string()) {
            sink.reject(problem);
        }
        Ok(())
    }

    async fn version(&self, aggregate_id: &str) -> Result<i64, StorageFailure> {
        let value = self
            .call("version", &self.version, &[JsValue::from_str(aggregate_id)])
            .await?;
        as_version(&value).ok_or_else(|| {
            StorageFailure::contract(format!(
                "storage adapter's version() returned a {}; expected an integer from -1",
                type_name(&value)
            ))
        })
    }

    async fn append(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        events: &[EventFields<'_>],
    ) -> Result<AppendOutcome, StorageFailure> {
        let list = Array::new_with_length(events.len() as u32);
        let (version_key, payload_key) =
            (JsValue::from_str("version"), JsValue::from_str("payload"));
        let id_json = payload::json_string(aggregate_id);
        let (mut text, mut times) = (String::new(), IsoCache::default());
        for (index, (event, version)) in events.iter().zip(expected_version + 1..).enumerate() {
            text.clear();
            payload::encode_into(&mut text, &id_json, version, event, &mut times);
            let item = JsValue::from(Object::new());
            // Setting a data property on a fresh plain object cannot fail.
            let _ = Reflect::set(&item, &version_key, &JsValue::from_f64(version as f64));
            let _ = Reflect::set(&item, &payload_key, &JsValue::from_str(&text));
            list.set(index as u32, item);
        }
        let args = [
            JsValue::from_str(aggregate_id),
            JsValue::from_f64(expected_version as f64),
            list.into(),
        ];
        let answer = self.call("append", &self.append, &args).await?;
        let ok = get(&answer, "ok").and_then(|ok| ok.as_bool());
        let actual = get(&answer, "actualVersion").as_ref().and_then(as_version);
        match (ok, actual) {
            (Some(true), _) => Ok(AppendOutcome::Appended),
            (Some(false), Some(actual_version)) if actual_version != expected_version => {
                Ok(AppendOutcome::Conflict { actual_version })
            }
            _ => Err(StorageFailure::contract(format!(
                "storage adapter's append() returned a {} that is neither {{ ok: true }} nor \
                 {{ ok: false, actualVersion }} with actualVersion other than {expected_version}",
                type_name(&answer)
            ))),
        }
    }
}

/// The event store over a host-provided adapter, behind the JS `EventStore` class when
/// `options.storage` is given. Every method returns a Promise.
#[wasm_bindgen]
pub struct AdapterEventStore {
    inner: Rc<EventStore<JsStorage>>,
}

fn into_promise<T: Into<JsValue>>(
    future: impl std::future::Future<Output = Result<T, JsValue>> + 'static,
) -> Promise {
    future_to_promise(async move { future.await.map(Into::into) })
}

#[wasm_bindgen]
impl AdapterEventStore {
    /// Checks the adapter's shape: load, version and append must be functions.
    /// `read_records` and `encode_into`: the wrapper's helpers, see `JsStorage`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        adapter: JsValue,
        seed: &[u8],
        read_records: Function,
        encode_into: Function,
    ) -> Result<AdapterEventStore, JsValue> {
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| internal("the id seed must be 32 bytes"))?;
        let storage = JsStorage::new(adapter, read_records, encode_into).map_err(invalid)?;
        Ok(AdapterEventStore {
            inner: Rc::new(EventStore::new(storage, seed)),
        })
    }

    /// Resolves to the new version (-1 for "no stream"). `events_json`: the batch's JSON as
    /// UTF-8, which the wrapper writes into a byte buffer (the glue copies it into the wasm
    /// memory before this returns, so the wrapper may reuse its buffer at once).
    pub fn append(
        &self,
        aggregate_id: String,
        expected_version: f64,
        events_json: Vec<u8>,
        now_ms: f64,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        into_promise(async move {
            let expected = version::expected_version(expected_version).map_err(invalid)?;
            let events_json =
                String::from_utf8(events_json).map_err(|_| internal("the batch is not UTF-8"))?;
            inner
                .append_events(&aggregate_id, expected, &events_json, now_ms as i64)
                .await
                .map(version_to_js)
                .map_err(to_js)
        })
    }

    /// Resolves to the recorded events after `from_version` as JSON text (an array).
    pub fn load(&self, aggregate_id: String, from_version: f64) -> Promise {
        let inner = Rc::clone(&self.inner);
        into_promise(async move {
            let after = version::from_version(from_version).map_err(invalid)?;
            inner
                .load_events_json(&aggregate_id, after)
                .await
                .map_err(to_js)
        })
    }

    /// Resolves to the stream's version (-1 for "no stream").
    pub fn version(&self, aggregate_id: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        into_promise(async move {
            inner
                .current_version(&aggregate_id)
                .await
                .map(version_to_js)
                .map_err(to_js)
        })
    }
}
