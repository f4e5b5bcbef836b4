// The boot-selection variables, shared with docs/bootloader/grub.cfg and boot.cmd.
// RAUC's convention: BOOT_ORDER="A B" (slots the bootloader may try, first is primary) and
// BOOT_<slot>_LEFT (tries left, one decimal digit because GRUB has no arithmetic). Outpost adds
// OUTPOST_<slot>_GOOD=1 for a committed slot; bootloaders ignore it.
import { OutpostError } from '../../../shared/errors.ts';
import type { SlotName } from '../types.ts';

export const ORDER_VAR = 'BOOT_ORDER';
export const leftVar = (slot: SlotName) => `BOOT_${slot}_LEFT`;
export const goodVar = (slot: SlotName) => `OUTPOST_${slot}_GOOD`;

/** Tries the scripts give a slot when its counter is unset, and the refill on commit. */
export const DEFAULT_TRIES = 3;
/** The GRUB snippet counts down with an if-chain over single digits. */
export const MAX_TRIES = 9;

export function checkSlotNames(slots: readonly SlotName[]): void {
  if (slots.length < 2 || new Set(slots).size !== slots.length || slots.some((s) => !/^[A-Za-z0-9]+$/.test(s))) {
    throw new OutpostError('E_BOOTCTL_SLOT', `slots must be two or more distinct alphanumeric names, got ${JSON.stringify(slots)}`);
  }
}

/** BOOT_ORDER as the scripts see it: unset or empty means every slot in configured order. */
export function parseOrder(value: string | undefined, slots: readonly SlotName[]): SlotName[] {
  const words = (value ?? '').split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...slots];
  // Unknown names are skipped by the scripts' if-chains; a repeat adds nothing (same counter).
  const out: SlotName[] = [];
  for (const w of words) if (slots.includes(w) && !out.includes(w)) out.push(w);
  return out;
}

/** BOOT_x_LEFT as the scripts see it: unset or empty → DEFAULT_TRIES; only 0–9 count. */
export function parseTries(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_TRIES;
  return /^[0-9]$/.test(value) ? Number(value) : 0;
}
