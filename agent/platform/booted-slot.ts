// Which slot is running? From the kernel command line (bootloader passes rauc.slot= or
// outpost.slot=), from the device mounted at "/", or from a file (the boot simulator in tests).
import { readFile, realpath } from 'node:fs/promises';
import type { SlotName } from './types.ts';
import { OutpostError } from '../../shared/errors.ts';

export interface BootedSlotOptions {
  source: 'cmdline' | 'mounts' | 'file';
  /** File read for the chosen source (already mapped under the config root). */
  path: string;
  /** Configured slots: names for cmdline/file, device paths for mounts. */
  slots: ReadonlyArray<{ name: SlotName; path: string }>;
}

export interface BootedSlotDetector {
  /** The running slot, or null when it is none of the configured slots. */
  booted(): Promise<SlotName | null>;
}

const CMDLINE_KEYS = ['outpost.slot=', 'rauc.slot='];

export function bootedSlotDetector(opts: BootedSlotOptions): BootedSlotDetector {
  const names = new Set(opts.slots.map((s) => s.name));
  return {
    async booted() {
      const text = await readSource(opts.path);
      if (opts.source === 'file') {
        const name = text.trim();
        return names.has(name) ? name : null;
      }
      if (opts.source === 'cmdline') return parseCmdline(text, names);
      return slotOfRoot(text, opts.slots);
    },
  };
}

export function parseCmdline(cmdline: string, names: ReadonlySet<string>): SlotName | null {
  for (const word of cmdline.trim().split(/\s+/)) {
    for (const key of CMDLINE_KEYS) {
      if (word.startsWith(key)) {
        const name = word.slice(key.length);
        if (names.has(name)) return name;
      }
    }
  }
  return null;
}

async function slotOfRoot(mounts: string, slots: BootedSlotOptions['slots']): Promise<SlotName | null> {
  // Last "/" entry wins: that is the one visible to this process.
  const root = mounts
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[1] === '/')
    .at(-1)?.[0];
  if (!root) return null;
  const dev = await realpath(root).catch(() => root);
  for (const s of slots) {
    if ((await realpath(s.path).catch(() => s.path)) === dev) return s.name;
  }
  return null;
}

async function readSource(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new OutpostError('E_BOOTED_SLOT', `cannot detect the booted slot from ${path}: ${(err as Error).message}`, { cause: err });
  }
}
