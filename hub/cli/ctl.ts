// `outpost-hub ctl`: operate a running hub through its operator API. Readable tables by default,
// `--json` for scripts. NODE is a fingerprint, a fingerprint prefix (8+ hex digits), a device id
// or a name; a state change needs it to name exactly one node.
import { parseArgs } from 'node:util';
import type { CliIO } from '../../agent/cli/io.ts';
import { OutpostError } from '../../shared/errors.ts';
import { ago, call, ctlTarget, table } from './ctl-client.ts';

export const CTL_USAGE = `usage: outpost-hub ctl [--hub URL] [--token T | --token-file F] [--json] COMMAND
  nodes [--status S] [--group G] [--label L] [--compatible C] [--site ID] [--region R]
        [--version V] [--release N] [--release-below N] [--health ok|updating|failing]
        [--online | --offline] [--device ID] [--limit N]        list nodes (one page; --after ID for the next)
  counts --by status|release|version|health|group|siteId|connected [filters as for nodes]
  show NODE                                                     one node in full
  accept NODE [--group G]  |  reject NODE                      enrolment
  preauthorize FP...                                            accept these keys at first contact
  group NODE --group G [--label L]...                           set a node's group and labels
  bundles  |  bundles register NAME                             bundles (identity from the signed manifest)
  offer (--node NODE | --group G) --bundle ID [--deployment ID] [--now] [--windows JSON] [--install-windows JSON]
  command (--node NODE | --group G) --type reboot|inventory.refresh|cancel|backoff|config.push
          [--deployment ID] [--retry-after S] [--config JSON] [--reason TEXT]
The API URL and token also come from OUTPOST_HUB_URL and OUTPOST_HUB_TOKEN.
`;

const FILTERS: Record<string, string> = {
  status: 'status', group: 'group', label: 'label', compatible: 'compatible', site: 'site', region: 'region',
  version: 'version', release: 'release', 'release-below': 'releaseBelow', health: 'health', device: 'device', limit: 'limit', after: 'after',
};

function json(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new OutpostError('E_USAGE', `${flag} expects JSON`);
  }
}

type Row = Record<string, any>;
const nodeColumns: Array<[string, (r: Row) => unknown]> = [
  ['FINGERPRINT', (r) => r.fingerprint.slice(0, 12)], ['DEVICE', (r) => r.name ?? r.deviceId], ['STATUS', (r) => r.status],
  ['ONLINE', (r) => (r.online ? 'yes' : 'no')], ['GROUP', (r) => r.group], ['SITE', (r) => r.site?.id ?? r.site?.name],
  ['VERSION', (r) => r.running?.version], ['RELEASE', (r) => r.running?.release], ['HEALTH', (r) => r.health], ['LAST SEEN', (r) => ago(r.lastSeen)],
];

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      hub: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, json: { type: 'boolean', default: false },
      node: { type: 'string' }, group: { type: 'string' }, label: { type: 'string', multiple: true }, status: { type: 'string' },
      compatible: { type: 'string' }, site: { type: 'string' }, region: { type: 'string' }, version: { type: 'string' },
      release: { type: 'string' }, 'release-below': { type: 'string' }, health: { type: 'string' }, device: { type: 'string' },
      online: { type: 'boolean' }, offline: { type: 'boolean' }, limit: { type: 'string' }, after: { type: 'string' }, by: { type: 'string' },
      bundle: { type: 'string' }, deployment: { type: 'string' }, type: { type: 'string' }, 'retry-after': { type: 'string' },
      now: { type: 'boolean' }, windows: { type: 'string' }, 'install-windows': { type: 'string' }, config: { type: 'string' }, reason: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const [cmd, ...rest] = positionals;
  if (values.help || !cmd) {
    (values.help ? io.out : io.err).write(CTL_USAGE);
    return values.help ? 0 : 2;
  }
  const t = ctlTarget(values);
  const print = (v: unknown, text: () => string) => io.out.write(values.json ? JSON.stringify(v, null, 2) + '\n' : text());
  const filterQuery = () => {
    const q = new URLSearchParams();
    for (const [flag, key] of Object.entries(FILTERS)) {
      const v = (values as Record<string, unknown>)[flag];
      if (flag === 'label' && Array.isArray(v)) v.forEach((l) => q.append('label', l));
      else if (typeof v === 'string') q.set(key, v);
    }
    if (values.online) q.set('online', 'true');
    if (values.offline) q.set('online', 'false');
    return q;
  };
  const target = () => (values.node ? { node: values.node } : values.group ? { group: values.group } : rest[0] ? { node: rest[0] } : null);
  const needTarget = () => target() ?? (() => { throw new OutpostError('E_USAGE', 'give --node NODE or --group G'); })();
  const sent = (r: Row[]) => table(r, [['NODE', (x) => x.node.slice(0, 12)], ['COMMAND', (x) => x.id], ['TYPE', (x) => x.type], ['DELIVERED', (x) => (x.delivered ? 'now' : 'on reconnect')]]);

  switch (cmd) {
    case 'nodes': {
      const out = await call<{ nodes: Row[]; total: number; next: string | null }>(t, 'GET', `/admin/nodes?${filterQuery()}`);
      print(out, () => table(out.nodes, nodeColumns) + `${out.nodes.length} of ${out.total} node(s)${out.next ? ` (more: --after ${out.next})` : ''}\n`);
      return 0;
    }
    case 'counts': {
      const q = filterQuery();
      q.set('by', values.by ?? 'status');
      const out = await call<Row[]>(t, 'GET', `/admin/counts?${q}`);
      print(out, () => table(out, [[(values.by ?? 'status').toUpperCase(), (r) => r.key], ['NODES', (r) => r.count]]));
      return 0;
    }
    case 'show': {
      if (!rest[0]) throw new OutpostError('E_USAGE', 'show NODE');
      const out = await call<Row[]>(t, 'GET', `/admin/nodes/${encodeURIComponent(rest[0])}`);
      print(out, () => out.map((n) => [
        table([n], nodeColumns),
        `compatible: ${n.compatible.join(', ') || '-'}   labels: ${n.labels.join(', ') || '-'}   agent: ${n.agentVersion}   reports: ${n.reports} (acked up to ${n.ackedSeq})\n`,
        `location: ${n.location ? `${n.location.lat}, ${n.location.lon} (${n.location.source})` : '-'}   inventory: ${n.inventory ? Object.keys(n.inventory).length : 0} keys${n.inventoryTruncated ? ' (truncated)' : ''}\n`,
        n.deployments.length ? table(n.deployments, [['DEPLOYMENT', (d) => d.id], ['ROLLOUT', (d) => d.rolloutId], ['BUNDLE', (d) => d.bundleId], ['STATE', (d) => d.state], ['RESULT', (d) => d.outcome?.result], ['CODE', (d) => d.outcome?.code]]) : 'no deployments\n',
        n.outstanding.length ? `outstanding commands: ${n.outstanding.map((c: Row) => `${c.type} ${c.id}`).join(', ')}\n` : '',
      ].join('')).join('\n'));
      return 0;
    }
    case 'accept':
    case 'reject': {
      if (!rest[0]) throw new OutpostError('E_USAGE', `${cmd} NODE`);
      const out = await call<Row[]>(t, 'POST', `/admin/${cmd}`, { node: rest[0], ...(values.group ? { group: values.group } : {}) });
      print(out, () => table(out, nodeColumns));
      return 0;
    }
    case 'preauthorize': {
      const out = await call(t, 'POST', '/admin/preauthorize', { fingerprints: rest });
      print(out, () => `${rest.length} fingerprint(s) preauthorised\n`);
      return 0;
    }
    case 'group': {
      if (!rest[0] || values.group === undefined) throw new OutpostError('E_USAGE', 'group NODE --group G [--label L]');
      const out = await call<Row[]>(t, 'POST', '/admin/groups', { node: rest[0], group: values.group, ...(values.label ? { labels: values.label } : {}) });
      print(out, () => table(out, nodeColumns));
      return 0;
    }
    case 'bundles': {
      const out = rest[0] === 'register' ? [await call<Row>(t, 'POST', '/admin/bundles', { name: rest[1] })] : await call<Row[]>(t, 'GET', '/admin/bundles');
      print(rest[0] === 'register' ? out[0] : out, () => table(out, [['ID', (b) => b.id], ['VERSION', (b) => b.version], ['RELEASE', (b) => b.release], ['COMPATIBLE', (b) => b.compatible.join(',')], ['SIZE', (b) => b.size], ['MANIFEST SHA256', (b) => b.manifestSha256.slice(0, 16)]]));
      return 0;
    }
    case 'offer': {
      const out = await call<Row[]>(t, 'POST', '/admin/offer', {
        ...needTarget(), bundle: values.bundle,
        ...(values.deployment ? { deploymentId: values.deployment } : {}), ...(values.now ? { now: true } : {}),
        ...(values.windows ? { windows: json(values.windows, '--windows') } : {}),
        ...(values['install-windows'] ? { installWindows: json(values['install-windows'], '--install-windows') } : {}),
      });
      print(out, () => sent(out));
      return 0;
    }
    case 'command': {
      const out = await call<Row[]>(t, 'POST', '/admin/command', {
        ...needTarget(), type: values.type,
        ...(values.deployment ? { deploymentId: values.deployment } : {}),
        ...(values['retry-after'] ? { retryAfterS: Number(values['retry-after']) } : {}),
        ...(values.config ? { config: json(values.config, '--config') } : {}),
        ...(values.reason ? { reason: values.reason } : {}),
      });
      print(out, () => (values.type === 'backoff' ? table(out, [['NODE', (x) => x.node.slice(0, 12)], ['TOLD', (x) => (x.delivered ? 'yes' : 'not connected here')]]) : sent(out)));
      return 0;
    }
    default:
      io.err.write(`E_USAGE: unknown ctl command ${cmd}\n${CTL_USAGE}`);
      return 2;
  }
}
