// outpost location [--json] [--config F] [--wait S]: where this node is, from the surveyed site
// data and (if enabled) a short look at gpsd. Read-only: it never changes the stored zone.
import { EXIT, type CliIO } from './io.ts';
import { parse, positionals, printHelp, usageError } from './args.ts';
import { loadConfig, DEFAULT_CONFIG_FILE, stateDir } from '../config/load.ts';
import { createLocationService } from '../location/factory.ts';
import { TimeFloor } from '../time/floor.ts';
import { silentLogger } from '../log/logger.ts';
import type { LocationReport } from '../location/types.ts';

const HELP = `usage: outpost location [--json] [--config FILE] [--wait SECONDS]

Prints the node's best location source (survey or GNSS) with accuracy and age, the site data and
whether the node is inside its site radius.
  --json          the location report as JSON (what the hub receives)
  --config FILE   provisioned config (default ${DEFAULT_CONFIG_FILE})
  --wait SECONDS  how long to wait for a GNSS fix from gpsd (default 3; 0: do not wait)
`;

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' }, json: { type: 'boolean' }, wait: { type: 'string' } });
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  const waitS = values.wait === undefined ? 3 : Number(values.wait);
  if (!Number.isFinite(waitS) || waitS < 0 || waitS > 600) throw usageError(`--wait: expected seconds (0..600), got ${values.wait}`);
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  const timeFloor = await TimeFloor.open(stateDir(config));
  const service = createLocationService(config, { clock: timeFloor.clock(), logger: silentLogger(), readOnly: true });
  const ac = new AbortController();
  let report: LocationReport;
  try {
    await service.start(ac.signal);
    const deadline = Date.now() + waitS * 1000;
    while (config.location.gpsd && service.current().gnss?.lastFixAt == null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    report = service.current();
  } finally {
    ac.abort();
  }
  if (values.json) {
    io.out.write(JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  io.out.write(human(report, config.location.gpsd));
  return report.source === 'none' ? EXIT.noLocation : EXIT.ok;
}

function human(r: LocationReport, gpsdEnabled: boolean): string {
  const lines: string[] = [];
  const acc = r.accuracyM === null ? 'unknown accuracy' : `±${Math.round(r.accuracyM)} m`;
  const age = r.ageS === null ? 'age unknown' : `age ${fmtAge(r.ageS)}`;
  lines.push(`source    ${r.source}${r.source === 'none' ? ' (no surveyed position and no GNSS fix)' : ` (${acc}, ${age})`}`);
  if (r.latitude !== null && r.longitude !== null) {
    lines.push(`position  ${r.latitude.toFixed(6)}, ${r.longitude.toFixed(6)}${r.altitudeM !== null ? `, ${Math.round(r.altitudeM)} m` : ''}`);
  }
  const s = r.site;
  if (s) {
    const where = [s.rack && `rack ${s.rack}`, s.row && `row ${s.row}`, s.unit && `unit ${s.unit}`].filter(Boolean).join(', ');
    lines.push(`site      ${[s.id, s.name && `"${s.name}"`].filter(Boolean).join(' ') || '(unnamed)'}${s.address ? `, ${s.address}` : ''}${where ? `; ${where}` : ''}; radius ${s.radiusM} m`);
  } else {
    lines.push('site      not configured');
  }
  lines.push(`zone      ${r.zone}${r.distanceM !== null ? ` (last GNSS fix ${r.distanceM} m from the site)` : ''}`);
  if (r.gnss) {
    const mode = ['unknown', 'no fix', '2D fix', '3D fix'][r.gnss.mode] ?? `mode ${r.gnss.mode}`;
    const sats = r.gnss.satellitesUsed !== null ? `, ${r.gnss.satellitesUsed}/${r.gnss.satellitesVisible ?? '?'} satellites` : '';
    lines.push(`gnss      ${r.gnss.connected ? 'gpsd connected' : 'gpsd not reachable'}, ${mode}${sats}${r.gnss.lastFixAt ? `, last fix ${r.gnss.lastFixAt}` : ''}`);
  } else if (!gpsdEnabled) {
    lines.push('gnss      disabled (location.gpsd = false)');
  }
  return lines.join('\n') + '\n';
}

function fmtAge(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}
