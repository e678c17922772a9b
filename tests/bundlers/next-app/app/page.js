// Prerendered at build time on the server: the Node entry of wasm-event-store runs inside
// Next.js's server bundle.
import { EventStore } from 'wasm-event-store';

export const dynamic = 'force-static';

export default async function Page() {
  const store = new EventStore();
  await store.appendEvents('cart-1', -1, [{ type: 'ItemAdded', data: { sku: 'apple' } }]);
  const events = await store.loadEvents('cart-1');
  return <p id="result">{events.map((e) => `${e.version}:${e.data.sku}`).join(',')}</p>;
}
