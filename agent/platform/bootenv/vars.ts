// Variable-level rules shared by every BootEnv: name checks, applying a change set, and the
// read-back comparison that turns a silent mismatch into E_BOOTENV_VERIFY.
import { OutpostError } from '../../../shared/errors.ts';

export type EnvVars = Record<string, string>;
export type EnvChanges = Record<string, string | null>;

/** Names every bootloader here can store and read back: no '=', NUL, line breaks, not empty. */
export function checkName(name: string, where: string): void {
  if (name === '' || /[=\0\n\r]/.test(name)) {
    throw new OutpostError('E_BOOTENV_NAME', `${where}: invalid variable name ${JSON.stringify(name)}`);
  }
}

export function checkValue(name: string, value: string, where: string, forbidden: RegExp = /\0/): void {
  if (forbidden.test(value)) {
    throw new OutpostError('E_BOOTENV_VALUE', `${where}: value of ${name} contains a character this environment cannot store`);
  }
}

/** `changes` applied to `vars` (null deletes). Returns a new object. */
export function applyChanges(vars: EnvVars, changes: EnvChanges): EnvVars {
  const out: EnvVars = { ...vars };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Names whose values differ (missing on one side counts), sorted; empty when equal. */
export function diffVars(a: EnvVars, b: EnvVars): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => a[k] !== b[k]).sort();
}

export function verifyOrThrow(expected: EnvVars, actual: EnvVars, where: string): void {
  const bad = diffVars(expected, actual);
  if (bad.length > 0) {
    throw new OutpostError('E_BOOTENV_VERIFY', `${where}: read-back differs from what was written (${bad.join(', ')})`, {
      retryable: true,
    });
  }
}

/** Serialises calls so two update()s on one env never interleave read-modify-write. */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => {});
    return next;
  }
}
