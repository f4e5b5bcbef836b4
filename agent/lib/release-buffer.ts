// Gives a buffer's memory back at once, not when V8 next collects it: a buffer that lived long
// enough to be in the old space may wait for a full collection, which an install may never run.
// Only for a buffer that owns its whole ArrayBuffer and that nothing else views: afterwards every
// view of it is empty (its ArrayBuffer is detached).
export function releaseBuffer(bytes: Buffer): void {
  if (bytes.byteOffset === 0 && bytes.length === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) bytes.buffer.transfer(0);
}
