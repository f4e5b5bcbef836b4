// The bus of the PostgreSQL store: LISTEN/NOTIFY on one dedicated connection per store (so the
// notifications a store publishes arrive in the order it published them). Every hub process on
// the database hears every notification, immediately, with no table to poll or clean up. What
// NOTIFY does not give — delivery to a process that was disconnected at that moment — the hub
// does not need: commands are rows, re-read on every node connection; the bus only makes them
// fast. After a lost connection the listener reconnects and listens again.
import { Client } from 'pg';
import { checkChannel, encodePayload } from '../sql/bus-check.ts';
import { pgTypes } from './driver.ts';
import type { BusImpl } from '../sql/store.ts';
import type { JsonValue } from '../types.ts';

type Handler = (payload: JsonValue) => void;

export class PgBus implements BusImpl {
  #url: string;
  #client: Client | null = null;
  #connecting: Promise<Client> | null = null;
  #handlers = new Map<string, Set<Handler>>();
  #closed = false;
  #retry: NodeJS.Timeout | null = null;

  constructor(url: string) {
    this.#url = url;
  }

  #conn(): Promise<Client> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #open(): Promise<Client> {
    const c = new Client({ connectionString: this.#url, types: pgTypes });
    c.on('notification', (m) => {
      const hs = this.#handlers.get(m.channel);
      if (!hs || m.payload === undefined) return;
      let payload: JsonValue;
      try {
        payload = JSON.parse(m.payload) as JsonValue;
      } catch {
        return; // not one of ours
      }
      for (const h of [...hs]) {
        try {
          h(payload);
        } catch {
          // a subscriber's bug must not stop the others
        }
      }
    });
    c.on('error', () => this.#lost(c));
    c.on('end', () => this.#lost(c));
    await c.connect();
    for (const ch of this.#handlers.keys()) await c.query(`LISTEN "${ch}"`);
    if (this.#closed) {
      await c.end().catch(() => {});
      throw new Error('bus closed');
    }
    this.#client = c;
    return c;
  }

  #lost(c: Client): void {
    if (this.#client !== c) return;
    this.#client = null;
    void c.end().catch(() => {});
    this.#reconnect();
  }

  #reconnect(): void {
    if (this.#closed || this.#retry || this.#handlers.size === 0) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#conn().catch(() => this.#reconnect());
    }, 1_000);
    this.#retry.unref();
  }

  async notify(channel: string, payload: JsonValue): Promise<void> {
    const text = encodePayload(channel, payload);
    const c = await this.#conn();
    await c.query('SELECT pg_notify($1, $2)', [channel, text]);
  }

  async subscribe(channel: string, handler: Handler): Promise<() => Promise<void>> {
    checkChannel(channel);
    let set = this.#handlers.get(channel);
    const first = !set;
    if (!set) this.#handlers.set(channel, (set = new Set()));
    set.add(handler);
    // The channel is checked against a plain-identifier pattern above, so quoting is enough.
    if (first) await (await this.#conn()).query(`LISTEN "${channel}"`);
    return async () => {
      set.delete(handler);
      if (set.size || this.#handlers.get(channel) !== set) return;
      this.#handlers.delete(channel);
      if (this.#client) await this.#client.query(`UNLISTEN "${channel}"`).catch(() => {});
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#handlers.clear();
    const c = this.#client ?? (this.#connecting ? await this.#connecting.catch(() => null) : null);
    this.#client = null;
    if (c) await c.end().catch(() => {});
  }
}
