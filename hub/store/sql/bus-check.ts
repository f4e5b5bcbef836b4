// The bus's limits, the same for both stores so code that works on SQLite works on PostgreSQL:
// a channel is a plain identifier and a payload fits a PostgreSQL NOTIFY (< 8,000 bytes).
import { OutpostError } from '../../../shared/errors.ts';
import type { JsonValue } from '../types.ts';

export const CHANNEL = /^[a-z][a-z0-9_]{0,62}$/;
export const MAX_PAYLOAD_BYTES = 7_900;

export function checkChannel(channel: string): void {
  if (!CHANNEL.test(channel)) throw new OutpostError('E_STORE_BUS_CHANNEL', `bus channel must match ${CHANNEL}: ${JSON.stringify(channel).slice(0, 80)}`);
}

export function encodePayload(channel: string, payload: JsonValue): string {
  checkChannel(channel);
  const text = JSON.stringify(payload);
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new OutpostError('E_STORE_BUS_PAYLOAD', `bus payload over ${MAX_PAYLOAD_BYTES} bytes`);
  return text;
}
