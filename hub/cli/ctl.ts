// Operator CLI for the reference hub's loopback admin API.
//   hub-ctl.ts --hub http://127.0.0.1:PORT nodes
//   hub-ctl.ts --hub URL accept NODE [--group G ...]
//   hub-ctl.ts --hub URL offer (--node NODE | --group G) --bundle NAME --version V --release R [--deployment ID]
//        [--now] [--windows JSON] [--install-windows JSON]   (JSON: [{"cron","durationMinutes","timezone"}])
//   hub-ctl.ts --hub URL command (--node NODE | --group G) --type reboot|inventory.refresh|cancel|backoff|config.push
//        [--deployment ID] [--retry-after S] [--config JSON]   (config.push: {"windows":[…],"healthChecks":["name"],…})
//   hub-ctl.ts --hub URL show NODE
// NODE is a fingerprint, a fingerprint prefix (8+ hex digits) or a device id.
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    hub: { type: 'string' },
    node: { type: 'string' },
    group: { type: 'string', multiple: true, default: [] },
    bundle: { type: 'string' },
    version: { type: 'string' },
    release: { type: 'string' },
    deployment: { type: 'string' },
    type: { type: 'string' },
    'retry-after': { type: 'string' },
    now: { type: 'boolean' },
    windows: { type: 'string' },
    'install-windows': { type: 'string' },
    config: { type: 'string' },
  },
});

const [cmd, arg] = positionals;
if (!values.hub || !cmd) {
  process.stderr.write('usage: hub-ctl.ts --hub URL nodes | show NODE | accept NODE [--group G] | offer ... | command ...\n');
  process.exit(2);
}

const target = () => (values.node ? { node: values.node } : values.group[0] ? { group: values.group[0] } : { node: arg });

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${values.hub}${path}`, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const out = await res.json();
  if (!res.ok) {
    process.stderr.write(`E_HUB_ADMIN: ${(out as { error?: string }).error ?? res.status}\n`);
    process.exit(1);
  }
  return out;
}

function json(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    process.stderr.write(`E_USAGE: ${flag} expects JSON\n`);
    process.exit(2);
  }
}

let out: unknown;
switch (cmd) {
  case 'nodes':
    out = await call('GET', '/admin/nodes');
    break;
  case 'show':
    out = await call('POST', '/admin/node', { node: arg });
    break;
  case 'accept':
    out = await call('POST', '/admin/accept', { node: arg, ...(values.group.length ? { groups: values.group } : {}) });
    break;
  case 'offer':
    out = await call('POST', '/admin/offer', {
      ...target(), bundle: values.bundle, version: values.version, release: values.release,
      ...(values.deployment ? { deploymentId: values.deployment } : {}),
      ...(values.now ? { now: true } : {}),
      ...(values.windows ? { windows: json(values.windows, '--windows') } : {}),
      ...(values['install-windows'] ? { installWindows: json(values['install-windows'], '--install-windows') } : {}),
    });
    break;
  case 'command':
    out = await call('POST', '/admin/command', {
      ...target(), type: values.type,
      ...(values.deployment ? { deploymentId: values.deployment } : {}),
      ...(values['retry-after'] ? { retryAfterS: Number(values['retry-after']) } : {}),
      ...(values.config ? { config: json(values.config, '--config') } : {}),
    });
    break;
  default:
    process.stderr.write(`E_USAGE: unknown command ${cmd}\n`);
    process.exit(2);
}
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
