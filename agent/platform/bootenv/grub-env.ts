// GRUB env block file as a BootEnv. The block is rewritten in place at the same size with
// fsync, never renamed: GRUB's own save_env writes the same sectors through its block list,
// so a new inode would be invisible to it. Every write is read back and compared.
import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BootEnv, EnvHealth } from '../types.ts';
import { isOutpostError, OutpostError } from '../../../shared/errors.ts';
import { fsyncDir } from '../../lib/atomic-file.ts';
import { readAt, writeAtSync } from './block-io.ts';
import { applyGrubChanges, decodeGrubBlock, emptyGrubBlock, encodeGrubBlock, grubVars, GRUB_BLOCK_SIZE } from './grub-block.ts';
import { applyChanges, Serial, verifyOrThrow, type EnvChanges, type EnvVars } from './vars.ts';

export interface GrubEnvOptions {
  path: string;
  /** Block size the file must have (GRUB and grub-editenv use 1024). */
  size?: number;
}

export class GrubEnv implements BootEnv {
  readonly path: string;
  readonly size: number;
  readonly #serial = new Serial();

  constructor(opts: GrubEnvOptions) {
    this.path = opts.path;
    this.size = opts.size ?? GRUB_BLOCK_SIZE;
  }

  async #load() {
    let st;
    try {
      st = await stat(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new OutpostError('E_BOOTENV_MISSING', `${this.path}: does not exist`);
      throw new OutpostError('E_BOOTENV_IO', `${this.path}: ${(err as Error).message}`, { cause: err, retryable: true });
    }
    // A block of the wrong size is a truncated or foreign file; rewriting it would move sectors.
    if (st.isFile() && st.size !== this.size) {
      throw new OutpostError('E_BOOTENV_SIZE', `${this.path}: is ${st.size} bytes, a GRUB environment block is ${this.size}`);
    }
    const buf = await readAt(this.path, 0, this.size);
    return decodeGrubBlock(buf, this.path);
  }

  async read(): Promise<EnvVars> {
    return grubVars(await this.#load());
  }

  /** One copy: damaged when it is not a readable block (there is nothing to repair it from). */
  async health(): Promise<EnvHealth> {
    try {
      await this.#load();
      return { copies: 1, damaged: [], current: 0 };
    } catch (err) {
      if (isOutpostError(err, 'E_BOOTENV_CORRUPT') || isOutpostError(err, 'E_BOOTENV_HEADER') || isOutpostError(err, 'E_BOOTENV_SIZE')) {
        return { copies: 1, damaged: [0], current: -1 };
      }
      throw err;
    }
  }

  update(changes: EnvChanges): Promise<void> {
    return this.#serial.run(async () => {
      const before = await this.#load();
      const next = applyGrubChanges(before, changes, this.path);
      const bytes = encodeGrubBlock(next, this.path);
      await writeAtSync(this.path, 0, bytes);
      const back = await readAt(this.path, 0, this.size);
      if (!back.equals(bytes)) {
        throw new OutpostError('E_BOOTENV_VERIFY', `${this.path}: block read back differs from the block written`, { retryable: true });
      }
      verifyOrThrow(applyChanges(grubVars(before), changes), grubVars(decodeGrubBlock(back, this.path)), this.path);
    });
  }
}

/**
 * Creates a fresh block (like `grub-editenv FILE create`) with optional initial variables.
 * For provisioning and tests; refuses to overwrite an existing file.
 */
export async function createGrubEnvFile(path: string, vars: EnvVars = {}, size = GRUB_BLOCK_SIZE): Promise<void> {
  const bytes = encodeGrubBlock(applyGrubChanges(emptyGrubBlock(size), vars, path), path);
  let fh;
  try {
    fh = await open(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OutpostError('E_BOOTENV_EXISTS', `${path}: already exists`);
    throw new OutpostError('E_BOOTENV_IO', `${path}: cannot create: ${(err as Error).message}`, { cause: err });
  }
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(dirname(path));
}
