// The last inventory the hub ACKNOWLEDGED (flat wire form) with its hash, kept on disk (atomic
// write), so a restart neither resends an unchanged inventory nor loses the base for the next diff.
import { join } from 'node:path';
import { readJsonOrSetAside, writeJsonAtomic } from '../lib/atomic-file.ts';
import type { Inventory } from '../../shared/protocol/messages.ts';
import { hashFlat } from './hash.ts';

export const INVENTORY_ACK_FILE = 'inventory-ack.json';

export interface AckedInventory {
  hash: string;
  /** The flat inventory the hub holds. */
  facts: Inventory;
}

const isScalar = (v: unknown) => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function validate(v: unknown): AckedInventory {
  const r = v as { v?: unknown; hash?: unknown; facts?: unknown } | null;
  if (!r || r.v !== 2 || typeof r.hash !== 'string' || typeof r.facts !== 'object' || r.facts === null || Array.isArray(r.facts)) {
    throw new Error('not a v2 ack record');
  }
  if (!Object.values(r.facts).every(isScalar)) throw new Error('not a flat inventory');
  // A hand-edited or half-migrated file must not become a diff base the hub does not have.
  if (hashFlat(r.facts as Inventory) !== r.hash) throw new Error('hash does not match the stored inventory');
  return { hash: r.hash, facts: r.facts as Inventory };
}

export class AckStore {
  readonly #path: string;

  constructor(dir: string) {
    this.#path = join(dir, INVENTORY_ACK_FILE);
  }

  get path(): string {
    return this.#path;
  }

  async load(): Promise<AckedInventory | null> {
    const r = await readJsonOrSetAside(this.#path, validate);
    return r.kind === 'ok' ? r.value : null;
  }

  async save(a: AckedInventory): Promise<void> {
    await writeJsonAtomic(this.#path, { v: 2, hash: a.hash, facts: a.facts });
  }
}
