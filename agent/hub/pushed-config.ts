// Settings pushed by the hub (windows, report intervals, health checks), kept apart from the
// provisioned config file and re-validated through shared/protocol when read back.
import { join } from 'node:path';
import { readJsonOrSetAside, writeJsonAtomic } from '../lib/atomic-file.ts';
import { pushedConfig } from '../../shared/protocol/codec.ts';
import type { PushedConfig } from '../../shared/protocol/messages.ts';
import type { Logger } from '../log/logger.ts';

export const PUSHED_CONFIG_FILE = 'hub-config.json';

export async function readPushedConfig(dir: string, log: Logger): Promise<PushedConfig | null> {
  const r = await readJsonOrSetAside(join(dir, PUSHED_CONFIG_FILE), (v) => pushedConfig(v));
  if (r.kind === 'corrupt') log.error('hub-pushed config unreadable, set aside', { file: r.setAsideTo, reason: r.reason });
  return r.kind === 'ok' ? r.value : null;
}

export function writePushedConfig(dir: string, config: PushedConfig): Promise<void> {
  return writeJsonAtomic(join(dir, PUSHED_CONFIG_FILE), config, 0o600);
}
