// outpost commit [--config F]: the operator (or a health script) accepts the running slot.
import type { CliIO } from './io.ts';
import { parse, positionals, printHelp } from './args.ts';
import { loadConfig, DEFAULT_CONFIG_FILE } from '../config/load.ts';
import { openUpdateApp } from '../app/update-app.ts';
import { OutpostError } from '../../shared/errors.ts';

const HELP = `usage: outpost commit [--config FILE]

Accepts the slot this node booted: marks it good in the boot environment, raises the release
floor and ends the deployment on trial as committed. The health checks are skipped (the operator
vouches for the slot). Nothing to do when the booted slot is already committed.
  --config FILE   provisioned config (default ${DEFAULT_CONFIG_FILE})
`;

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' } });
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  // A recovery command: it needs no bundle policy, so a broken trust store or floor must not stop it.
  const { service } = await openUpdateApp(config, { tolerateBadPolicy: true });
  const r = await service.commit();
  if (r && r.kind === 'outcome' && r.outcome !== 'committed') {
    throw new OutpostError(r.error?.code ?? 'E_UPDATE_FAILED', `commit of ${r.id} did not succeed: ${r.outcome}`);
  }
  const s = await service.status();
  io.out.write(`slot ${s.booted} committed\n`);
  return 0;
}
