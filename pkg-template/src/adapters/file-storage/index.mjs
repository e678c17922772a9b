// What FileStorage keeps in memory of its log: every stream's payloads, and the global log.
//
// Positions are the events' order in the log file: the log is append-only and written by one
// FileStorage at a time (the directory's lock), so an event's position is the number of events
// before it in the file, the same after every reopen, and a group commit gives its appends
// positions in the order they are written. Nothing of the positions is stored: open() counts them
// as it reads the log, and loadAll() answers from memory without reading the file.

/** One stream: its payloads (version = index) and each one's position. */
class Stream {
  constructor(id) {
    this.id = id;
    this.payloads = [];
    this.positions = [];
  }
}

export class LogIndex {
  #streams = new Map();
  // Per position: the stream and the version of its event.
  #logStreams = [];
  #logVersions = [];

  /** The stream's last version, -1 if it does not exist. */
  version(aggregateId) {
    const stream = this.#streams.get(aggregateId);
    return stream === undefined ? -1 : stream.payloads.length - 1;
  }

  /** The highest position, -1 for an empty log. */
  lastPosition() {
    return this.#logStreams.length - 1;
  }

  /** Adds an append of `payloads` to the stream from its next version, at the next positions. */
  add(aggregateId, payloads) {
    let stream = this.#streams.get(aggregateId);
    if (stream === undefined) {
      stream = new Stream(aggregateId);
      this.#streams.set(aggregateId, stream);
    }
    for (const payload of payloads) {
      stream.positions.push(this.#logStreams.length);
      this.#logStreams.push(stream);
      this.#logVersions.push(stream.payloads.length);
      stream.payloads.push(payload);
    }
  }

  /** The stream's records with version > afterVersion, at most `limit`, ascending. */
  load(aggregateId, afterVersion, limit) {
    const stream = this.#streams.get(aggregateId);
    if (stream === undefined) return [];
    const from = afterVersion + 1;
    const count = Math.max(0, Math.min(stream.payloads.length - from, limit));
    const records = new Array(count);
    for (let i = 0; i < count; i++) {
      records[i] = { version: from + i, payload: stream.payloads[from + i], position: stream.positions[from + i] };
    }
    return records;
  }

  /** The records with position > afterPosition, at most `limit`, ascending. */
  loadAll(afterPosition, limit) {
    const from = Math.max(afterPosition + 1, 0);
    const count = Math.max(0, Math.min(this.#logStreams.length - from, limit));
    const records = new Array(count);
    for (let i = 0; i < count; i++) {
      const stream = this.#logStreams[from + i];
      const version = this.#logVersions[from + i];
      records[i] = { aggregateId: stream.id, version, position: from + i, payload: stream.payloads[version] };
    }
    return records;
  }
}
