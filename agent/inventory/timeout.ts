// Bounds a call we cannot cancel (systeminformation has no AbortSignal): stop waiting for it.
import { OutpostError } from '../../shared/errors.ts';

export function withTimeout<T>(work: () => Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new OutpostError('E_INVENTORY_TIMEOUT', `${what} took longer than ${ms} ms`)), ms);
    timer.unref();
    Promise.resolve()
      .then(work)
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}
