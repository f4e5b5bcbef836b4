// Demo root filesystem images. Each starts with a small text header that the demo's health check
// reads from the booted slot (scripts/demo/health-check.ts), the rest is random filler so every
// block differs. A "broken" image carries `selftest=fail`: the software inside does not come up.
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

export interface DemoImage {
  version: string;
  /** false: the image's own self-test fails after boot (the bad release of the demo). */
  healthy: boolean;
  size: number;
}

export const HEADER_BYTES = 4096;

export function imageHeader(img: DemoImage): string {
  const selftest = img.healthy ? 'pass' : 'fail: app service exits on start (missing libdemo.so.3)';
  return `OUTPOST-DEMO-ROOTFS\nversion=${img.version}\nselftest=${selftest}\n\n`;
}

export async function writeDemoImage(path: string, img: DemoImage): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    head.write(imageHeader(img));
    await fh.write(head, 0, head.length, 0);
    const chunk = 1 << 20;
    for (let at = HEADER_BYTES; at < img.size; at += chunk) {
      const n = Math.min(chunk, img.size - at);
      await fh.write(randomBytes(n), 0, n, at);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** key=value lines of an image header (stops at the first empty line or NUL). */
export function parseHeader(bytes: Buffer): Record<string, string> | null {
  const text = bytes.toString('latin1');
  if (!text.startsWith('OUTPOST-DEMO-ROOTFS\n')) return null;
  const out: Record<string, string> = {};
  for (const line of text.slice(20).split('\n')) {
    if (line === '' || line.startsWith('\0')) break;
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
