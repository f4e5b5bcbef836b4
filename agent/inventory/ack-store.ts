// The last inventory the hub ACKNOWLEDGED, kept on disk (atomic write) with its hash, so a
// restart neither resends an unchanged inventory nor loses the base for the next diff.
import { join } from 'node:path';
import { readJsonOrSetAside, writeJsonAtomic } from '../lib/atomic-file.ts';
import { hashInventory } from './hash.ts';
import type { JsonObject } from './types.ts';

export const INVENTORY_ACK_FILE = 'inventory-ack.json';

export interface AckedInventory {
  hash: string;
  /** The facts the hub holds (no `volatile`). */
  facts: JsonObject;
}

function validate(v: unknown): AckedInventory {
  const r = v as { v?: unknown; hash?: unknown; facts?: unknown } | null;
  if (!r || r.v !== 1 || typeof r.hash !== 'string' || typeof r.facts !== 'object' || r.facts === null) throw new Error('not a v1 ack record');
  // A hand-edited or half-migrated file must not become a diff base the hub does not have.
  if (hashInventory(r.facts as JsonObject) !== r.hash) throw new Error('hash does not match the stored inventory');
  return { hash: r.hash, facts: r.facts as JsonObject };
}

export class AckStore {
  readonly #path: string;

  constructor(stateDir: string) {
    this.#path = join(stateDir, INVENTORY_ACK_FILE);
  }

  get path(): string {
    return this.#path;
  }

  async load(): Promise<AckedInventory | null> {
    const r = await readJsonOrSetAside(this.#path, validate);
    return r.kind === 'ok' ? r.value : null;
  }

  async save(a: AckedInventory): Promise<void> {
    await writeJsonAtomic(this.#path, { v: 1, hash: a.hash, facts: a.facts });
  }
}
