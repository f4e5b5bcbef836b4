// outpost reboot [--force] [--config F]: reboots through update.rebootCommand. A deployment staged
// with `install --no-reboot` is armed first, so the reboot boots it on trial (the same step as
// `install --resume`); a reboot that would cut a running install or a trial short is refused.
import type { CliIO } from './io.ts';
import { parse, positionals, printHelp } from './args.ts';
import { loadConfig, DEFAULT_CONFIG_FILE } from '../config/load.ts';
import { silentLogger } from '../log/logger.ts';
import { buildUpdateStack } from '../app/update-stack.ts';
import { commandRebooter } from '../platform/rebooter.ts';
import { processRunner } from '../platform/exec.ts';
import { AgentError } from '../lib/errors.ts';
import type { State } from '../update/machine.ts';
import { revertPending } from './install.ts';

const HELP = `usage: outpost reboot [--force] [--config FILE]

Reboots the node through update.rebootCommand. A deployment staged by \`outpost install
--no-reboot\` (state awaiting_install_window) is armed first, so the node boots it once on trial
and commits it after its health checks, as \`outpost install --resume\` would. A deployment that
only waits for its reboot is rebooted into.
Refused with E_REBOOT_REFUSED while a deployment is downloading, writing or verifying its slot,
or while a trial boot is being checked or reverted: a reboot then restarts the download, or ends
the trial on the old slot. Finish it (\`outpost install --resume\`, \`outpost commit\`) or roll it
back (\`outpost rollback\`) first.
  --force         reboot whatever a deployment is doing (the bootloader still only boots a
                  verified, armed slot or falls back to the old one)
  --config FILE   provisioned config (default ${DEFAULT_CONFIG_FILE})
`;

/** States in which a reboot is what the deployment waits for. */
const AWAITING_REBOOT: ReadonlySet<State> = new Set(['awaiting_boot', 'awaiting_rollback_boot']);

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' }, force: { type: 'boolean' } });
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  // Like `install --resume`: a staged deployment is past its download and needs no bundle policy.
  const { app } = await buildUpdateStack(config, { mode: 'cli', logger: silentLogger(), tolerateBadPolicy: true });
  const d = (await app.service.status()).deployment;
  const open = d && d.outcome === null ? d : null;
  if (open?.state === 'awaiting_install_window') {
    const r = await app.service.resumeAfterBoot();
    if (r?.kind === 'parked' && r.state === 'revert_pending') throw await revertPending(app.service, r.id);
    if (r?.kind === 'parked') {
      io.out.write(`deployment ${open.id}: armed; reboot requested (${r.state})\n`);
      return 0;
    }
    if (r?.kind === 'outcome') throw new AgentError(r.error?.code ?? 'E_UPDATE_FAILED', `deployment ${open.id} ${r.outcome.replace('_', ' ')} instead of arming: ${r.error?.message ?? 'no detail'}`);
    throw new AgentError('E_REBOOT_REFUSED', `deployment ${open.id} did not arm (${r ? `${r.kind} in ${r.state}` : 'nothing to resume'}); nothing was rebooted`);
  }
  if (open && !AWAITING_REBOOT.has(open.state) && values.force !== true) {
    throw new AgentError('E_REBOOT_REFUSED', `deployment ${open.id} is in ${open.state}: a reboot now would interrupt it; finish or roll it back first, or pass --force`);
  }
  const u = config.update;
  await commandRebooter({ command: u.rebootCommand, timeoutMs: u.rebootTimeoutMs, runner: processRunner }).reboot('operator: outpost reboot');
  io.out.write(open ? `rebooting (deployment ${open.id} in ${open.state})\n` : 'rebooting\n');
  return 0;
}
