// outpost time [--json] [--reset-floor signed|build] [--config F]: the node's time sources (system
// clock, whether it is synchronised, the trusted time floor and where it came from) and the site's
// way out of a bad floor.
import type { CliIO } from './io.ts';
import { parse, positionals, printHelp, usageError } from './args.ts';
import { loadConfig, DEFAULT_CONFIG_FILE, stateDir } from '../config/load.ts';
import { TimeFloor } from '../time/floor.ts';
import { MAX_HUB_LEAD_MS } from '../time/limits.ts';

const HELP = `usage: outpost time [--json] [--reset-floor signed|build] [--config FILE]

Shows the system clock, whether it is synchronised, the trusted time floor (its source: build,
bundle or hub) and the highest signed time, and which of them the agent uses now.
  --json                 the same as JSON
  --reset-floor signed   lower the floor to the highest signed time (drops what a hub added)
  --reset-floor build    lower the floor and the signed time to this agent's build time
  --config FILE          provisioned config (default ${DEFAULT_CONFIG_FILE})
Stop the daemon first (systemctl stop outpost) or restart it afterwards: it keeps the floor in memory.
`;

const iso = (ms: number) => new Date(ms).toISOString();

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' }, json: { type: 'boolean' }, 'reset-floor': { type: 'string' } });
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  const reset = values['reset-floor'];
  if (reset !== undefined && reset !== 'signed' && reset !== 'build') throw usageError(`--reset-floor: expected "signed" or "build", got ${JSON.stringify(reset)}`);
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  const timeFloor = await TimeFloor.open(stateDir(config));
  if (reset) {
    const before = timeFloor.floorMs;
    const to = await timeFloor.reset(reset);
    if (!values.json) io.out.write(`time floor reset from ${iso(before)} to ${iso(to)}\n`);
  }
  const t = timeFloor.trustedNow();
  if (values.json) {
    io.out.write(JSON.stringify({ ...t, maxHubLeadMs: MAX_HUB_LEAD_MS }, null, 2) + '\n');
    return 0;
  }
  io.out.write(`system clock: ${iso(t.systemNow)} (${t.synchronised ? 'synchronised' : 'not known to be synchronised'})\n`);
  io.out.write(`time floor:   ${iso(t.floorMs)} (from ${t.source})\n`);
  io.out.write(`signed time:  ${iso(t.signedMs)} (hub time may lift the floor at most ${MAX_HUB_LEAD_MS / 3_600_000} h past it)\n`);
  io.out.write(`using:        ${t.usingFloor ? `the floor (${iso(t.now)}): the clock is ${Math.round(t.behindMs / 1000)} s behind it and not synchronised` : `the system clock${t.clockBehind ? ` (${Math.round(t.behindMs / 1000)} s behind the floor, but synchronised)` : ''}`}\n`);
  return 0;
}
