// An app's events as the JSON text the core takes, checked as appendEvents checks them (the
// same writer: a value JSON cannot carry faithfully is refused, not changed).
import { giveBack, takeBytes } from '../core/bytes.mjs';
import { encodeEvents } from '../core/json-writer.mjs';

const decoder = new TextDecoder();

export function eventsJson(events) {
  const out = takeBytes();
  try {
    encodeEvents(events, out);
    return decoder.decode(out.array.subarray(0, out.length));
  } finally {
    giveBack(out);
  }
}
