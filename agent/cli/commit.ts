// outpost commit [--config F]: the operator (or a health script) accepts the running slot.
import { parseArgs } from 'node:util';
import type { CliIO } from './io.ts';
import { loadConfig, DEFAULT_CONFIG_FILE } from '../config/load.ts';
import { openUpdateApp } from '../app/update-app.ts';
import { AgentError } from '../lib/errors.ts';

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  // A recovery command: it needs no bundle policy, so a broken trust store or floor must not stop it.
  const { service } = await openUpdateApp(config, { tolerateBadPolicy: true });
  const r = await service.commit();
  if (r && r.kind === 'outcome' && r.outcome !== 'committed') {
    throw new AgentError(r.error?.code ?? 'E_UPDATE_FAILED', `commit of ${r.id} did not succeed: ${r.outcome}`);
  }
  const s = await service.status();
  io.out.write(`slot ${s.booted} committed\n`);
  return 0;
}
