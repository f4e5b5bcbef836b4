// outpost inventory [--json] [--config F] [--no-slots]: collects this node's inventory locally,
// exactly as it would be reported (the hub sees the same document minus nothing).
import type { CliIO } from './io.ts';
import { parse, positionals, printHelp } from './args.ts';
import { loadConfig, DEFAULT_CONFIG_FILE, stateDir } from '../config/load.ts';
import { createCollector } from '../inventory/service.ts';
import { hashInventory } from '../inventory/hash.ts';
import { slotSummary } from '../inventory/slot-summary.ts';
import { processRunner } from '../platform/exec.ts';
import { TimeFloor } from '../time/floor.ts';
import { monotonicMs } from '../lib/monotonic.ts';

const HELP = `usage: outpost inventory [--json] [--config FILE] [--no-slots]

Collects and prints this node's inventory (hardware, OS, disks, network, slots, custom scripts).
  --json          the full document as JSON (what the hub receives, plus "hash")
  --config FILE   provisioned config (default ${DEFAULT_CONFIG_FILE})
  --no-slots      do not read the slots' state (e.g. on a machine without configured slots)
`;

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' }, json: { type: 'boolean' }, 'no-slots': { type: 'boolean' } });
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  const timeFloor = await TimeFloor.open(stateDir(config));
  const slots = values['no-slots']
    ? undefined
    : async () => {
        const { openUpdateApp } = await import('../app/update-app.ts');
        const { service } = await openUpdateApp(config);
        return slotSummary(await service.status());
      };
  const started = monotonicMs();
  const inv = await createCollector(config, { runner: processRunner, slots, timeFloor }).collect();
  const ms = Math.round(monotonicMs() - started);
  const hash = hashInventory(inv);
  if (values.json) {
    io.out.write(JSON.stringify({ ...inv, hash }, null, 2) + '\n');
    return 0;
  }
  const { errors, volatile, ...facts } = inv;
  for (const [k, v] of flatten(facts)) io.out.write(`${k} = ${v}\n`);
  for (const [k, v] of flatten(volatile, 'volatile')) io.out.write(`${k} = ${v}\n`);
  for (const [source, e] of Object.entries(errors)) io.out.write(`error ${source}: ${e.code}: ${e.message}\n`);
  io.out.write(`hash = ${hash}\n(collected in ${ms} ms)\n`);
  return 0;
}

function* flatten(v: unknown, prefix = ''): Generator<[string, string]> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const k of Object.keys(v).sort()) yield* flatten((v as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k);
  } else if (Array.isArray(v)) {
    yield [prefix, v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ')];
  } else {
    yield [prefix, v === null ? '(unknown)' : String(v)];
  }
}
