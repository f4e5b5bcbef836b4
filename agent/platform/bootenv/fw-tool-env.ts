// U-Boot environment through the vendor's fw_printenv / fw_setenv (libubootenv), for boards
// where those tools are mandatory. All changes go in ONE `fw_setenv -s -` script so they land
// in one environment write. libubootenv reads script lines as `name=value` and silently skips
// `name value` lines, so that is the only form written; `name=` deletes. With two copies a
// second, empty script follows: libubootenv writes the inactive copy on every store, so that puts
// the same variables into the other copy too, and losing either copy cannot undo the change.
import { readFile } from 'node:fs/promises';
import type { BootEnv, CommandRunner, CommandResult, EnvHealth } from '../types.ts';
import { processRunner } from '../exec.ts';
import { OutpostError } from '../../../shared/errors.ts';
import { readAt } from './block-io.ts';
import { parseFwEnvConfig, type UbootGeometry } from './fw-env-config.ts';
import { currentCopy, decodeUbootCopy } from './uboot-image.ts';
import { applyChanges, checkName, checkValue, Serial, verifyOrThrow, type EnvChanges, type EnvVars } from './vars.ts';

export interface FwToolEnvOptions {
  /** fw_env.config passed with -c. */
  configPath: string;
  fwPrintenv?: string;
  fwSetenv?: string;
  /** Default environment file (-f) used by fw_setenv when no copy is valid; for provisioning. */
  defaultEnvPath?: string;
  runner?: CommandRunner;
  timeoutMs?: number;
}

// libubootenv reads script lines with fgets into a 2048-byte buffer.
const MAX_SCRIPT_LINE = 2046;

export class FwToolEnv implements BootEnv {
  readonly #o: Required<Omit<FwToolEnvOptions, 'defaultEnvPath'>> & { defaultEnvPath?: string };
  readonly #serial = new Serial();

  constructor(opts: FwToolEnvOptions) {
    this.#o = {
      fwPrintenv: 'fw_printenv',
      fwSetenv: 'fw_setenv',
      runner: processRunner,
      timeoutMs: 30_000,
      ...opts,
    };
  }

  async #run(file: string, args: string[], input?: string): Promise<CommandResult> {
    let r: CommandResult;
    try {
      r = await this.#o.runner.run(file, args, { timeoutMs: this.#o.timeoutMs, input });
    } catch (err) {
      throw new OutpostError('E_BOOTENV_TOOL', `${file}: ${(err as Error).message}`, { cause: err });
    }
    if (r.code === 0) return r;
    const detail = r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}: ${r.stderr.trim()}`;
    // Without -f, libubootenv reports an environment with no valid copy this way.
    if (/Cannot read environment/.test(r.stderr)) {
      throw new OutpostError('E_BOOTENV_CORRUPT', `${file} -c ${this.#o.configPath}: no valid environment (${detail})`);
    }
    throw new OutpostError('E_BOOTENV_TOOL', `${file} -c ${this.#o.configPath}: ${detail}`, { retryable: r.timedOut });
  }

  async read(): Promise<EnvVars> {
    return this.#print(false);
  }

  async #print(withDefault: boolean): Promise<EnvVars> {
    const args = ['-c', this.#o.configPath];
    if (withDefault && this.#o.defaultEnvPath) args.push('-f', this.#o.defaultEnvPath);
    const r = await this.#run(this.#o.fwPrintenv, args);
    return parsePrintenv(r.stdout);
  }

  update(changes: EnvChanges): Promise<void> {
    return this.#serial.run(async () => {
      const where = `${this.#o.fwSetenv} -c ${this.#o.configPath}`;
      const lines: string[] = [];
      const norm: EnvChanges = {};
      for (const [name, value] of Object.entries(changes)) {
        checkName(name, where);
        if (/^#|\s/.test(name)) throw new OutpostError('E_BOOTENV_NAME', `${where}: ${JSON.stringify(name)} cannot be written by a script`);
        if (value !== null) checkValue(name, value, where, /[\0\n\r]/);
        const line = `${name}=${value ?? ''}`;
        if (Buffer.byteLength(line) > MAX_SCRIPT_LINE) throw new OutpostError('E_BOOTENV_VALUE', `${where}: ${name} is too long for a script line`);
        lines.push(line);
        norm[name] = value === '' ? null : value;
      }
      // With a default file (-f) an unreadable environment starts from those defaults, as
      // fw_setenv itself does; without one it is E_BOOTENV_CORRUPT and nothing is written.
      const before = await this.#print(true);
      const expected = applyChanges(before, norm);
      await this.#store(lines.map((l) => l + '\n').join(''));
      verifyOrThrow(expected, await this.read(), where);
      if ((await this.#geometry())?.copies.length !== 1) {
        await this.#store('');
        verifyOrThrow(expected, await this.read(), where);
      }
    });
  }

  async #store(script: string): Promise<void> {
    const args = ['-c', this.#o.configPath];
    if (this.#o.defaultEnvPath) args.push('-f', this.#o.defaultEnvPath);
    await this.#run(this.#o.fwSetenv, [...args, '-s', '-'], script);
  }

  /** The copies as fw_env.config describes them; null when the config cannot be read. */
  async #geometry(): Promise<UbootGeometry | null> {
    try {
      return parseFwEnvConfig(await readFile(this.#o.configPath, 'utf8'));
    } catch {
      return null;
    }
  }

  /**
   * Reads the copies directly (files and block devices) to check their CRCs. On devices that
   * cannot be read that way (MTD, UBI) it answers current: null and no damaged copy.
   */
  async health(): Promise<EnvHealth> {
    const g = await this.#geometry();
    if (!g) return { copies: 1, damaged: [], current: null };
    const redundant = g.copies.length === 2;
    try {
      const copies = await Promise.all(g.copies.map(async (c) => decodeUbootCopy(await readAt(c.device, c.offset, g.size), redundant, `${c.device}@${c.offset}`)));
      return { copies: copies.length, damaged: copies.flatMap((c, i) => (c.crcOk ? [] : [i])), current: currentCopy(copies) };
    } catch {
      return { copies: g.copies.length, damaged: [], current: null };
    }
  }

  /** Rewrites a damaged copy from the good one (an empty script stores into the inactive, damaged copy). */
  repair(): Promise<number[]> {
    return this.#serial.run(async () => {
      const h = await this.health();
      if (h.copies !== 2 || h.current === null || h.current < 0 || h.damaged.length === 0) return [];
      const before = await this.read();
      await this.#store('');
      verifyOrThrow(before, await this.read(), `${this.#o.fwSetenv} -c ${this.#o.configPath}`);
      return [...h.damaged];
    });
  }
}

/** `name=value` lines from fw_printenv. */
export function parsePrintenv(stdout: string): EnvVars {
  const out: EnvVars = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
