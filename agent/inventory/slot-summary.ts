// The inventory's `slots` section from the update part's status (structural: inventory does not
// depend on update). Only what identifies the software on each slot, not the tries counter
// (it changes during a trial boot and would make every collection a diff).
import type { JsonObject } from './types.ts';

export interface SlotStatusLike {
  booted: string | null;
  primary: string | null;
  slots: ReadonlyArray<{
    name: string;
    slotClass: string;
    good: boolean;
    installed: { version: string; release: number; sha256?: string } | null;
  }>;
  bootEnv?: {
    now: { copies: number; damaged: readonly number[] } | null;
    lastDamage: { at: string; repaired: readonly number[] } | null;
  } | null;
  reconcile?: { code: string } | null;
}

export function slotSummary(s: SlotStatusLike): JsonObject {
  const slots: JsonObject = {};
  for (const slot of s.slots) {
    slots[slot.name] = {
      class: slot.slotClass,
      good: slot.good,
      version: slot.installed?.version ?? null,
      release: slot.installed?.release ?? null,
      sha256: slot.installed?.sha256 ?? null,
    };
  }
  const out: JsonObject = { booted: s.booted, primary: s.primary, slots };
  // Boot env copies and a lost commit: rare, and exactly what a fleet operator must see.
  if (s.bootEnv) {
    out.bootEnv = {
      copies: s.bootEnv.now?.copies ?? null,
      damaged: s.bootEnv.now ? s.bootEnv.now.damaged.length : null,
      lastDamageAt: s.bootEnv.lastDamage?.at ?? null,
      lastRepaired: s.bootEnv.lastDamage ? s.bootEnv.lastDamage.repaired.length > 0 : null,
    };
  }
  if (s.reconcile) out.reconcile = s.reconcile.code;
  return out;
}
