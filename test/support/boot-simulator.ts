// Test-only bootloader: plays docs/bootloader/grub.cfg and boot.cmd on each simulated reboot.
// Written as a transcription of those scripts, NOT with the agent's own parsing helpers, so a
// mistake in BootControl cannot be mirrored here and go unnoticed.
import { rm } from 'node:fs/promises';
import type { BootEnv, SlotName } from '../../agent/platform/types.ts';
import { writeFileAtomic } from '../../agent/lib/atomic-file.ts';

export interface SimulateBootOptions {
  /** Slot names the scripts know, in their default order (scripts ship with A and B). */
  slots?: readonly SlotName[];
  /** Where to record the booted slot (what a kernel command line would tell the agent). */
  bootedSlotFile?: string;
}

export interface SimulatedBoot {
  /** Slot started, or null when no slot had tries left (the scripts refill and reset). */
  booted: SlotName | null;
}

// GRUB's if-chain: only these values count down; anything else is "no tries left".
export const COUNTDOWN: Readonly<Record<string, string>> = { '9': '8', '8': '7', '7': '6', '6': '5', '5': '4', '4': '3', '3': '2', '2': '1', '1': '0' };

export async function simulateBoot(env: BootEnv, opts: SimulateBootOptions = {}): Promise<SimulatedBoot> {
  const slots = opts.slots ?? ['A', 'B'];
  const vars = await env.read();
  // Defaults for unset/empty variables, as at the top of both scripts.
  const order = vars.BOOT_ORDER ? vars.BOOT_ORDER : slots.join(' ');
  const left: Record<string, string> = {};
  for (const s of slots) left[s] = vars[`BOOT_${s}_LEFT`] ? vars[`BOOT_${s}_LEFT`]! : '3';

  let booted: SlotName | null = null;
  for (const word of order.split(/\s+/).filter(Boolean)) {
    if (booted !== null) continue;
    for (const s of slots) {
      if (word === s && COUNTDOWN[left[s]!] !== undefined) {
        left[s] = COUNTDOWN[left[s]!]!;
        booted = s;
      }
    }
  }
  if (booted === null) {
    // Nothing bootable: refill every counter and reset; BOOT_ORDER is kept, so a slot marked
    // bad (possibly half written) is still never tried.
    for (const s of slots) left[s] = '3';
  }
  const save: Record<string, string> = { BOOT_ORDER: order };
  for (const s of slots) save[`BOOT_${s}_LEFT`] = left[s]!;
  await env.update(save);

  if (opts.bootedSlotFile) {
    if (booted === null) await rm(opts.bootedSlotFile, { force: true });
    else await writeBootedSlot(opts.bootedSlotFile, booted);
  }
  return { booted };
}

/** Records the booted slot as one line, `A\n`, for the agent's slot detection to read. */
export async function writeBootedSlot(path: string, slot: SlotName): Promise<void> {
  await writeFileAtomic(path, `${slot}\n`);
}
