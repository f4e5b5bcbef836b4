// The bus of the SQLite store: in-process. SQLite has no notification mechanism between
// processes, and one SQLite file is served by one hub process (several processes need
// PostgreSQL), so every store instance opened on the same file in this process shares one set
// of subscribers. Delivery is asynchronous, like PostgreSQL's.
import { randomUUID } from 'node:crypto';
import { encodePayload, checkChannel } from '../sql/bus-check.ts';
import type { BusImpl } from '../sql/store.ts';
import type { JsonValue } from '../types.ts';

type Handler = (payload: JsonValue) => void;
const buses = new Map<string, Map<string, Set<Handler>>>();

export function inProcessBus(key: string): BusImpl {
  // `:memory:` databases are private to their connection: so is their bus.
  const k = key === ':memory:' ? `:memory:${randomUUID()}` : key;
  let channels = buses.get(k);
  if (!channels) buses.set(k, (channels = new Map()));
  const mine = new Set<{ channel: string; handler: Handler }>();
  const chans = channels;
  return {
    async notify(channel, payload) {
      const text = encodePayload(channel, payload);
      for (const h of chans.get(channel) ?? []) {
        setImmediate(() => {
          try {
            h(JSON.parse(text) as JsonValue);
          } catch {
            // a subscriber's bug must not break the publisher
          }
        });
      }
    },
    async subscribe(channel, handler) {
      checkChannel(channel);
      let set = chans.get(channel);
      if (!set) chans.set(channel, (set = new Set()));
      set.add(handler);
      const entry = { channel, handler };
      mine.add(entry);
      return async () => {
        set.delete(handler);
        mine.delete(entry);
      };
    },
    async close() {
      for (const e of mine) chans.get(e.channel)?.delete(e.handler);
      mine.clear();
      if ([...chans.values()].every((s) => s.size === 0)) buses.delete(k);
    },
  };
}
