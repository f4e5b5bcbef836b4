// The end of a slot writer's life (SlotWriter.finish): what is still pending is written, then the
// device is fsynced, and the writer's descriptors are closed whatever happened.
import type { FileHandle } from 'node:fs/promises';
import { OutpostError } from '../../../shared/errors.ts';

export async function finishWrites(path: string, pending: () => Promise<void>, sync: FileHandle, close: () => Promise<void>): Promise<void> {
  try {
    await pending();
    await sync.sync(); // data durable before anyone records it as written
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw new OutpostError('E_SLOT_WRITE', `cannot fsync ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    await close();
  }
}
