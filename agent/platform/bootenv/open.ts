// One entry point for the composition root: boot env kind + location from config → a BootEnv.
import { readFile } from 'node:fs/promises';
import type { BootEnv } from '../types.ts';
import { OutpostError } from '../../../shared/errors.ts';
import { GrubEnv } from './grub-env.ts';
import { UbootEnv } from './uboot-env.ts';
import { FwToolEnv } from './fw-tool-env.ts';

export type BootEnvSpec =
  /** GRUB env block file (e.g. /boot/grub/grubenv). */
  | { kind: 'grub'; path: string }
  /** U-Boot env written natively; geometry from an fw_env.config file. */
  | { kind: 'uboot'; configPath: string }
  /** U-Boot env through fw_printenv/fw_setenv with this fw_env.config. */
  | { kind: 'fw-tool'; configPath: string; defaultEnvPath?: string };

export async function openBootEnv(spec: BootEnvSpec): Promise<BootEnv> {
  switch (spec.kind) {
    case 'grub':
      return new GrubEnv({ path: spec.path });
    case 'uboot': {
      let text: string;
      try {
        text = await readFile(spec.configPath, 'utf8');
      } catch (err) {
        throw new OutpostError('E_BOOTENV_CONFIG', `${spec.configPath}: cannot read: ${(err as Error).message}`, { cause: err });
      }
      return new UbootEnv({ geometry: text });
    }
    case 'fw-tool':
      return new FwToolEnv({ configPath: spec.configPath, defaultEnvPath: spec.defaultEnvPath });
  }
}
