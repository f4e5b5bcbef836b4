// Which boot this is: the kernel's random boot_id changes at every boot, so a journal can tell a
// restart of the agent in the same boot from a power cut and a new boot.
import { readFile } from 'node:fs/promises';
import type { UpdateDeps } from './ports.ts';

export const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

export async function kernelBootId(): Promise<string> {
  // No boot_id (not Linux, no /proc): every process start counts as a new boot, the safe side.
  return (await readFile(BOOT_ID_PATH, 'utf8').catch(() => `unknown-${process.pid}`)).trim();
}

export function currentBootId(deps: UpdateDeps): Promise<string> {
  return (deps.bootId ?? kernelBootId)();
}
