// What each slot holds (version, release, sha256), recorded once every block was verified and
// written (fsynced), and cleared before the slot is overwritten. `outpost status` shows it.
import { join } from 'node:path';
import { readJsonOrSetAside, writeJsonAtomic } from '../lib/atomic-file.ts';

export interface SlotRecord {
  readonly version: string;
  readonly release: number;
  readonly sha256: string;
  readonly size: number;
  readonly installedAt: string;
  readonly deployment: string;
}

export type SlotRecords = Readonly<Record<string, SlotRecord | null>>;

export async function readSlotRecords(dir: string): Promise<SlotRecords> {
  const r = await readJsonOrSetAside(join(dir, 'slots.json'), (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected an object');
    return v as SlotRecords;
  });
  return r.kind === 'ok' ? r.value : {};
}

export async function setSlotRecord(dir: string, slot: string, record: SlotRecord | null): Promise<void> {
  const all = { ...(await readSlotRecords(dir)), [slot]: record };
  await writeJsonAtomic(join(dir, 'slots.json'), all);
}
