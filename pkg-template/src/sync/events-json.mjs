// An app's events as the JSON text the core takes, checked as appendEvents checks them (the
// same writer: a value JSON cannot carry faithfully is refused, not changed).
import { giveBack, takeBytes } from '../core/bytes.mjs';
import { encodeEvents } from '../core/json-writer.mjs';

const decoder = new TextDecoder();

export function eventsJson(events) {
  return eventsJsonAndCount(events).json;
}

/** eventsJson, and how many events it holds (read once: `events` may be a proxy). */
export function eventsJsonAndCount(events) {
  const out = takeBytes();
  try {
    const count = encodeEvents(events, out);
    return { json: decoder.decode(out.array.subarray(0, out.length)), count };
  } finally {
    giveBack(out);
  }
}
