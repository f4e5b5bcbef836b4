// U-Boot environment on a plain file or a block device as a BootEnv. With two copies a write
// goes first to the copy the bootloader is NOT using, with the next flag value, fsynced and
// verified (a power cut mid-write leaves the old copy valid and current), then to the other copy
// the same way, so both hold every change the agent made.
import type { BootEnv, EnvHealth } from '../types.ts';
import { OutpostError } from '../../../shared/errors.ts';
import { readAt, writeAtSync } from './block-io.ts';
import { parseFwEnvConfig, type UbootGeometry } from './fw-env-config.ts';
import { currentCopy, decodeUbootCopy, encodeUbootCopy, type DecodedCopy } from './uboot-image.ts';
import { applyChanges, checkName, Serial, verifyOrThrow, type EnvChanges, type EnvVars } from './vars.ts';

export interface UbootEnvOptions {
  /** Geometry, or the text of an fw_env.config with one or two lines. */
  geometry: UbootGeometry | string;
  /**
   * What to do when no copy has a valid CRC: 'error' (default) fails with E_BOOTENV_CORRUPT;
   * 'empty' reads as no variables and lets update() write a fresh environment (provisioning).
   */
  whenInvalid?: 'error' | 'empty';
  /**
   * false: one write to the inactive copy only, as U-Boot's own `saveenv` does (the boot
   * simulator in tests). Default true: both copies, so losing one cannot undo a change.
   */
  writeBoth?: boolean;
}

export class UbootEnv implements BootEnv {
  readonly geometry: UbootGeometry;
  readonly #whenInvalid: 'error' | 'empty';
  readonly #writeBoth: boolean;
  readonly #serial = new Serial();

  constructor(opts: UbootEnvOptions) {
    this.geometry = typeof opts.geometry === 'string' ? parseFwEnvConfig(opts.geometry) : opts.geometry;
    this.#whenInvalid = opts.whenInvalid ?? 'error';
    this.#writeBoth = opts.writeBoth ?? true;
    const [a, b] = this.geometry.copies;
    if (b && a.device === b.device && Math.abs(a.offset - b.offset) < this.geometry.size) {
      throw new OutpostError('E_BOOTENV_CONFIG', `fw_env.config: the two copies overlap on ${a.device}`);
    }
  }

  get redundant(): boolean {
    return this.geometry.copies.length === 2;
  }

  #where(i: number): string {
    const c = this.geometry.copies[i]!;
    return `${c.device}@${c.offset}`;
  }

  async #copies(): Promise<DecodedCopy[]> {
    return Promise.all(
      this.geometry.copies.map(async (c, i) =>
        decodeUbootCopy(await readAt(c.device, c.offset, this.geometry.size), this.redundant, this.#where(i)),
      ),
    );
  }

  async #state(): Promise<{ copies: DecodedCopy[]; current: number; vars: EnvVars }> {
    const copies = await this.#copies();
    const current = currentCopy(copies);
    if (current >= 0) return { copies, current, vars: copies[current]!.vars };
    if (this.#whenInvalid === 'empty') return { copies, current: 0, vars: {} };
    throw new OutpostError('E_BOOTENV_CORRUPT', `${this.#where(0)}: no copy of the U-Boot environment has a valid CRC`);
  }

  async read(): Promise<EnvVars> {
    return (await this.#state()).vars;
  }

  /** Which copies pass their CRC, and which one the bootloader uses (-1: none). */
  async check(): Promise<{ valid: boolean[]; current: number }> {
    const copies = await this.#copies();
    return { valid: copies.map((c) => c.crcOk), current: currentCopy(copies) };
  }

  async health(): Promise<EnvHealth> {
    const { valid, current } = await this.check();
    return { copies: valid.length, damaged: valid.flatMap((ok, i) => (ok ? [] : [i])), current };
  }

  /**
   * Start-up repair: when one of two copies is torn or corrupt, rewrite it from the good one (a
   * write of no changes goes to both copies). Returns the indices it rewrote. With no valid copy
   * it does nothing: guessing a boot environment is worse.
   */
  async repair(): Promise<number[]> {
    const h = await this.health();
    if (!this.redundant || h.current === null || h.current < 0 || h.damaged.length === 0) return [];
    await this.update({});
    return [...h.damaged];
  }

  update(changes: EnvChanges): Promise<void> {
    return this.#serial.run(async () => {
      // U-Boot has no empty values: "" means unset, as with `setenv name` and fw_setenv.
      const norm: EnvChanges = {};
      for (const [k, v] of Object.entries(changes)) {
        checkName(k, this.#where(0));
        norm[k] = v === '' ? null : v;
      }
      const { copies, current, vars } = await this.#state();
      const expected = applyChanges(vars, norm);
      if (!this.redundant) return this.#writeCopy(0, expected, 0);
      // The inactive copy first (a power cut leaves the current one in charge), then the other:
      // afterwards both hold the change, so losing either copy cannot take it back.
      const first = 1 - current;
      const flag = (copies[current]!.flag + 1) & 0xff;
      await this.#writeCopy(first, expected, flag);
      if (this.#writeBoth) await this.#writeCopy(current, expected, (flag + 1) & 0xff);
    });
  }

  async #writeCopy(target: number, expected: EnvVars, flag: number): Promise<void> {
    const bytes = encodeUbootCopy(expected, this.geometry.size, this.redundant, flag, this.#where(target));
    const loc = this.geometry.copies[target]!;
    await writeAtSync(loc.device, loc.offset, bytes);
    const back = await readAt(loc.device, loc.offset, this.geometry.size);
    if (!back.equals(bytes)) {
      throw new OutpostError('E_BOOTENV_VERIFY', `${this.#where(target)}: copy read back differs from the copy written`, {
        retryable: true,
      });
    }
    const after = await this.#state();
    if (after.current !== target) {
      throw new OutpostError('E_BOOTENV_VERIFY', `${this.#where(target)}: the copy just written is not the current one`, {
        retryable: true,
      });
    }
    verifyOrThrow(expected, after.vars, this.#where(target));
  }
}
