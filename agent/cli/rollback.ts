// outpost rollback [--force] [--config F]: revert the deployment in progress, or switch to the
// other committed slot and reboot. Says what it is about to do first; refuses to boot a release
// below the anti-rollback floor unless --force.
import { EXIT, type CliIO } from './io.ts';
import { parse, positionals, printHelp } from './args.ts';
import { loadConfig, DEFAULT_CONFIG_FILE, rootPath } from '../config/load.ts';
import { openUpdateApp } from '../app/update-app.ts';
import { readReleaseFloor } from '../bundle/release-floor.ts';
import { OutpostError } from '../../shared/errors.ts';
import { revertPending } from './install.ts';

const HELP = `usage: outpost rollback [--force] [--config FILE]

With a deployment in progress: reverts it (the old slot stays or becomes primary again; a trial
boot is ended and the node reboots into the old slot).
With none: makes the other committed slot primary and reboots into it, after checking its
content. A slot holding a release below the anti-rollback floor (bundle.floorFile) is refused
(E_ROLLBACK_FLOOR): that release was superseded, possibly for a security fix. An unreadable
floor file does not stop a rollback (a warning says so).
  --force         boot the other slot even below the floor (the floor itself stays)
  --config FILE   provisioned config (default ${DEFAULT_CONFIG_FILE})
`;

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' }, force: { type: 'boolean' } });
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  // A recovery command: it needs no bundle policy, so a broken trust store or floor must not stop it.
  const { service } = await openUpdateApp(config, { tolerateBadPolicy: true });
  const s = await service.status();
  const d = s.deployment;
  if (d && d.outcome === null) {
    io.out.write(`reverting deployment ${d.id} (${d.state}): slot ${d.target} is given up, the node stays on or returns to the previous slot\n`);
  } else {
    const other = s.slots.find((x) => x.name !== s.booted);
    if (other) {
      const what = other.installed ? `${other.installed.version} (release ${other.installed.release})` : 'unknown content';
      const releaseFloor = await readReleaseFloor(rootPath(config, config.bundle.floorFile)).then(
        (n) => ({ n, problem: null }),
        (err: Error) => ({ n: null, problem: err.message }),
      );
      const below = releaseFloor.n !== null && other.installed !== null && other.installed.release < releaseFloor.n;
      if (below && !values.force) {
        throw new OutpostError(
          'E_ROLLBACK_FLOOR',
          `slot ${other.name} holds ${what}, below the anti-rollback floor ${releaseFloor.n}; nothing was changed. \`outpost rollback --force\` boots it anyway`,
        );
      }
      // A recovery command: a broken floor file must not stop it, but the operator is told.
      if (releaseFloor.problem) io.err.write(`warning: the anti-rollback floor cannot be read (${releaseFloor.problem}); slot ${other.name} is not checked against it\n`);
      io.out.write(`switching to slot ${other.name}: ${what}${below ? `, below the floor ${releaseFloor.n} (--force)` : ''}; it becomes primary and the node reboots\n`);
    }
  }
  const r = await service.rollback();
  if (r?.kind === 'parked' && r.state === 'revert_pending') throw await revertPending(service, r.id);
  if (r === null) io.out.write('switched to the other slot; reboot requested\n');
  else if (r.kind === 'outcome') io.out.write(`deployment ${r.id}: ${r.outcome}${r.error ? ` (${r.error.code})` : ''}\n`);
  else io.out.write(`deployment ${r.id}: ${r.state}; after boot run \`outpost install --resume\`\n`);
  return EXIT.ok;
}
