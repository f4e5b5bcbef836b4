// A positioned write of every byte: a write may take fewer bytes than asked (a signal, a device's
// limit), and the rest must follow at its place.
import type { FileHandle } from 'node:fs/promises';

export async function writeFully(fh: FileHandle, data: Uint8Array, offset: number): Promise<void> {
  for (let done = 0; done < data.length; ) done += (await fh.write(data, done, data.length - done, offset + done)).bytesWritten;
}
