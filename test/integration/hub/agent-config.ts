// Writes an agent config for tests: everything under a scratch root, fast timings.
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function writeAgentConfig(root: string, hubUrl: string, hub: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<string> {
  await mkdir(root, { recursive: true });
  const file = join(root, 'config.json');
  await writeFile(file, JSON.stringify({
    core: { root, stateDir: '/state', logLevel: 'debug' },
    hub: { url: hubUrl, backoffBaseMs: 100, backoffCapMs: 1000, pingIntervalMs: 10_000, authTimeoutMs: 30_000, healthDeadlineMs: 30_000, ...hub },
    inventory: { scriptsDir: null },
    location: { gpsd: false },
    ...extra,
  }, null, 2));
  return file;
}
