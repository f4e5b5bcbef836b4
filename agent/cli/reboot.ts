// outpost reboot [--config F]: the configured reboot command, run only when a reboot interrupts
// nothing. A staged deployment (`install --no-reboot`) is armed first, as `install --resume` does.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliIO } from './io.ts';
import { parse, positionals, printHelp } from './args.ts';
import { loadConfig, stateDir, DEFAULT_CONFIG_FILE, type Config } from '../config/load.ts';
import { openUpdateApp } from '../app/update-app.ts';
import { commandRebooter } from '../platform/rebooter.ts';
import { processRunner } from '../platform/exec.ts';
import { acquireLock } from '../lib/process-lock.ts';
import { isOutpostError, OutpostError } from '../../shared/errors.ts';
import type { State } from '../update/machine.ts';

const HELP = `usage: outpost reboot [--config FILE]

Reboots the node with its reboot command (update.rebootCommand) once it has checked that the
reboot interrupts nothing:
  - no deployment in progress, or one that waits for a reboot (armed, rolling back, a revert
    retried at start): reboots now;
  - a staged deployment (\`outpost install --no-reboot\`): arms the bootloader for it, then
    reboots, as \`outpost install --resume\` does;
  - a slot being written or verified, the bootloader being armed or reverted, or a trial boot
    not yet committed: refused with E_REBOOT_UNSAFE, nothing changes (finish it with
    \`outpost install --resume\`, or \`outpost rollback\`);
  - another process drives a deployment (the daemon, an install): refused with E_UPDATE_BUSY.
  --config FILE   provisioned config (default ${DEFAULT_CONFIG_FILE})
`;

/** The deployment waits for exactly this: a reboot. */
const WAITS_FOR_REBOOT: readonly State[] = ['rebooting', 'awaiting_boot', 'rollback_rebooting', 'awaiting_rollback_boot', 'revert_pending'];

const REASON = 'operator: outpost reboot';

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' } });
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  const configFile = values.config ?? DEFAULT_CONFIG_FILE;
  const config = await loadConfig(configFile);
  const reboot = () =>
    commandRebooter({ command: config.update.rebootCommand, timeoutMs: config.update.rebootTimeoutMs, runner: processRunner }).reboot(REASON);
  if (config.update.slots.length === 0) {
    // No slots, no deployments: nothing a reboot could interrupt.
    io.out.write('rebooting\n');
    await reboot();
    return 0;
  }
  // The update lock, held from the check to the reboot: no install starts writing in between.
  const dir = join(stateDir(config), 'update');
  await mkdir(dir, { recursive: true });
  const lock = await acquireLock(join(dir, 'lock'), 'the update service').catch((err: unknown) => {
    if (isOutpostError(err, 'E_UPDATE_BUSY')) {
      throw new OutpostError('E_UPDATE_BUSY', `${err.message}; a reboot now would interrupt it (the daemon: stop the service first)`, { cause: err, retryable: true });
    }
    throw err;
  });
  let staged: string | null = null;
  try {
    const d = await deployment(config);
    if (d && d.outcome === null && d.state === 'awaiting_install_window') staged = d.id;
    else if (d && d.outcome === null && !WAITS_FOR_REBOOT.includes(d.state)) {
      throw new OutpostError('E_REBOOT_UNSAFE', `deployment ${d.id} is in ${d.state}: ${advice(d.state)}; nothing was changed`);
    } else {
      io.out.write(d && d.outcome === null ? `rebooting: deployment ${d.id} waits for it (${d.state})\n` : 'rebooting\n');
      await reboot();
      return 0;
    }
  } finally {
    await lock.release();
  }
  // Arming and rebooting is the state machine's (under its own lock): the same run as --resume.
  io.out.write(`deployment ${staged} is staged: arming it, then rebooting\n`);
  const install = await import('./install.ts');
  return install.run(['--resume', '--config', configFile], io);
}

async function deployment(config: Config): Promise<{ id: string; state: State; outcome: string | null } | null> {
  // Read-only; like commit and rollback it must work with a broken trust store or floor.
  const { service } = await openUpdateApp(config, { tolerateBadPolicy: true });
  return (await service.status()).deployment;
}

function advice(state: State): string {
  if (state === 'preparing' || state === 'writing' || state === 'verifying') {
    return 'its slot is not fully written and verified; continue it with `outpost install --resume` (or drop it with `outpost rollback`)';
  }
  if (state === 'booted' || state === 'health_checking' || state === 'committing') {
    return 'the new slot is on trial; let `outpost install --resume` commit it or roll it back, or `outpost commit` it';
  }
  return 'the boot environment is being changed; finish it with `outpost install --resume`';
}
