// Trust-version high-water mark: the highest trust-store version this node has loaded, kept in
// the state dir. Rotations live as files next to root.json; deleting rotation-N.json would
// otherwise silently bring back the keys rotation N replaced (perhaps compromised, revoked).
// Like the release floor it only rises, and an unreadable mark is an error, never 0.
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-file.ts';
import { OutpostError } from '../../shared/errors.ts';
import type { TrustStore } from '../../shared/bundle/trust.ts';
import { loadTrustStore } from './trust-file.ts';
import { readCounterFile } from './small-file.ts';

export const TRUST_MARK_FILE = 'trust-version';

export function readTrustMark(stateDir: string): Promise<number> {
  return readCounterFile(join(stateDir, TRUST_MARK_FILE), { what: 'trust version mark', maxDigits: 15, readCode: 'E_TRUST_READ', corruptCode: 'E_TRUST_READ' });
}

/**
 * The trust store at `path`, refused (E_TRUST_ROLLBACK) when its version is below the highest
 * this node has loaded before; a higher version raises the mark.
 */
export async function loadTrustStoreWithMark(path: string, stateDir: string): Promise<TrustStore> {
  const store = await loadTrustStore(path);
  const mark = await readTrustMark(stateDir);
  if (store.version < mark) {
    throw new OutpostError('E_TRUST_ROLLBACK', `trust store ${path} is at version ${store.version}, but this node already trusted version ${mark}: `
      + `a rotation file was removed or the store was replaced by an older one`);
  }
  if (store.version > mark) await writeFileAtomic(join(stateDir, TRUST_MARK_FILE), `${store.version}\n`);
  return store;
}
