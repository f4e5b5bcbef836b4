// outpost status [--json] [--config F]: booted slot, primary, per-slot state, deployment.
import type { CliIO } from './io.ts';
import { parse, positionals, printHelp } from './args.ts';
import { loadConfig, DEFAULT_CONFIG_FILE } from '../config/load.ts';
import { openUpdateApp } from '../app/update-app.ts';
import type { UpdateStatus } from '../update/service.ts';

const HELP = `usage: outpost status [--json] [--config FILE]

Shows the booted slot, the primary slot, each slot's installed version, release, committed state
and tries left, the deployment in progress and any trust-store or floor problem. Read-only.
  --json          the same as JSON
  --config FILE   provisioned config (default ${DEFAULT_CONFIG_FILE})
`;

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  // Status is what an operator runs when something is wrong: a broken trust store or floor file
  // must not hide the slots; it is shown as a problem instead.
  const { service, policy } = await openUpdateApp(config, { tolerateBadPolicy: true });
  const s = await service.status();
  const bad = await policy.problem();
  const policyProblem = bad ? { code: bad.code, message: bad.message } : null;
  if (values.json) {
    io.out.write(JSON.stringify({ ...s, policyProblem }, null, 2) + '\n');
    return 0;
  }
  io.out.write(`booted:  ${s.booted ?? 'unknown'}\nprimary: ${s.primary ?? 'unknown'}\n`);
  for (const slot of s.slots) {
    const flags = [slot.booted ? 'booted' : '', slot.primary ? 'primary' : '', slot.good ? 'good' : 'not good', `tries ${slot.triesLeft}`].filter(Boolean).join(', ');
    const what = slot.installed ? `${slot.installed.version} (release ${slot.installed.release})` : 'unknown content';
    io.out.write(`slot ${slot.name} [${slot.slotClass}] ${what}: ${flags}\n`);
  }
  const d = s.deployment;
  if (d) {
    const progress = d.blocks ? ` ${d.blocksWritten ?? 0}/${d.blocks} blocks` : '';
    io.out.write(`deployment ${d.id}: ${d.state}${progress} → ${d.target} (${d.version ?? '?'})${d.error ? ` ${d.error.code}: ${d.error.message}` : ''}\n`);
    const t = d.transfer;
    if (t) {
      const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
      io.out.write(`transfer: ${t.mode}, fetched ${mb(t.fetchedBytes)} of ${mb(t.plannedBytes)} planned (full download ${mb(t.fullBytes)}), `
        + `${mb(t.localBytes)} from local slots, saved ${mb(Math.max(0, t.fullBytes - t.fetchedBytes))}, ${t.requests} requests\n`);
    }
    if (d.state === 'revert_pending') io.out.write('the revert could not finish: new deployments are refused; it is retried at the next start, or run `outpost rollback`\n');
  } else {
    io.out.write('deployment: none\n');
  }
  if (s.journalProblem) io.out.write(`warning: ${s.journalProblem}\n`);
  for (const line of bootEnvLines(s)) io.out.write(line + '\n');
  if (policyProblem) io.out.write(`warning: bundles are refused until fixed: ${policyProblem.code}: ${policyProblem.message}\n`);
  return 0;
}

/** Damaged env copies and a lost commit, as an operator needs to see them. */
function bootEnvLines(s: UpdateStatus): string[] {
  const out: string[] = [];
  const env = s.bootEnv;
  if (env?.now && env.now.damaged.length > 0) {
    out.push(`warning: boot environment copy ${env.now.damaged.join(', ')} of ${env.now.copies} is damaged; the next start repairs it from the good copy`);
  }
  const d = env?.lastDamage;
  if (d) {
    const what = d.error ? `could not be repaired: ${d.error.code}: ${d.error.message}` : d.repaired.length > 0 ? `repaired copy ${d.repaired.join(', ')}` : 'not repaired';
    out.push(`boot environment: at ${d.at} copy ${d.damaged.join(', ') || '?'} was found damaged; ${what}`);
  }
  if (s.reconcile) out.push(`warning: ${s.reconcile.code}: ${s.reconcile.message}`);
  return out;
}
