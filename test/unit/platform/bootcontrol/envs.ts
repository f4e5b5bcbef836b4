// Real boot environments in a temp dir for the boot control tests, one of each native kind.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BootEnv } from '../../../../agent/platform/types.ts';
import { GrubEnv, createGrubEnvFile } from '../../../../agent/platform/bootenv/grub-env.ts';
import { UbootEnv } from '../../../../agent/platform/bootenv/uboot-env.ts';

export type EnvKind = 'grub' | 'uboot';
export const ENV_KINDS: EnvKind[] = ['grub', 'uboot'];

let n = 0;

export async function makeEnv(kind: EnvKind, dir: string): Promise<BootEnv> {
  const path = join(dir, `env-${kind}-${n++}`);
  if (kind === 'grub') {
    await createGrubEnvFile(path);
    return new GrubEnv({ path });
  }
  await writeFile(path, Buffer.alloc(0x2000));
  return new UbootEnv({ geometry: `${path} 0 0x1000\n${path} 0x1000 0x1000\n`, whenInvalid: 'empty' });
}

/** A real env that counts update() calls: every BootControl operation must be exactly one. */
export function counting(env: BootEnv): BootEnv & { updates: number } {
  const c = {
    updates: 0,
    read: () => env.read(),
    update: (changes: Record<string, string | null>) => {
      c.updates++;
      return env.update(changes);
    },
  };
  return c;
}
