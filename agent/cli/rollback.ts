// outpost rollback [--config F]: revert the deployment in progress, or switch to the other
// committed slot and reboot.
import type { CliIO } from './io.ts';
import { parse, positionals, printHelp } from './args.ts';
import { loadConfig, DEFAULT_CONFIG_FILE } from '../config/load.ts';
import { openUpdateApp } from '../app/update-app.ts';
import { revertPending } from './install.ts';

const HELP = `usage: outpost rollback [--config FILE]

With a deployment in progress: reverts it (the old slot stays or becomes primary again; a trial
boot is ended and the node reboots into the old slot).
With none: makes the other committed slot primary and reboots into it.
  --config FILE   provisioned config (default ${DEFAULT_CONFIG_FILE})
`;

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' } });
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  // A recovery command: it needs no bundle policy, so a broken trust store or floor must not stop it.
  const { service } = await openUpdateApp(config, { tolerateBadPolicy: true });
  const r = await service.rollback();
  if (r?.kind === 'parked' && r.state === 'revert_pending') throw await revertPending(service, r.id);
  if (r === null) io.out.write('switched to the other slot; reboot requested\n');
  else if (r.kind === 'outcome') io.out.write(`deployment ${r.id}: ${r.outcome}${r.error ? ` (${r.error.code})` : ''}\n`);
  else io.out.write(`deployment ${r.id}: ${r.state}; after boot run \`outpost install --resume\`\n`);
  return 0;
}
