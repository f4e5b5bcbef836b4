// `outpost-hub serve`: runs the hub until SIGTERM/SIGINT. Prints its URLs on stdout (and, at the
// very first start, an operator token, once), then logs JSON lines to stderr.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import type { CliIO } from '../../agent/cli/io.ts';
import { createLogger } from '../../agent/log/logger.ts';
import { OutpostError } from '../../shared/errors.ts';
import { openStore } from '../store/open.ts';
import { startHub } from '../app.ts';

export const SERVE_USAGE = `usage: outpost-hub serve --store URL --bundles DIR [options]
  --store URL           sqlite:FILE (one hub process; created if missing) or postgres://… (several)
  --bundles DIR         bundle files; each is registered from its signed manifest
  --host ADDR           agent endpoint address (default 127.0.0.1; 0.0.0.0 for a real fleet)
  --port N              agent endpoint port (default 0 = any free port)
  --tls-cert FILE       PEM certificate chain: the agent endpoint speaks wss:// and https://
  --tls-key FILE        PEM private key of --tls-cert
  --api-host ADDR       operator API address (default 127.0.0.1)
  --api-port N          operator API port (default 0 = any free port)
  --allow-origin URL    browser origin allowed to call the operator API (repeatable; default none)
  --public-url URL      base URL put into offers (default: the agent endpoint's URL)
  --preauthorize FP     accept this key fingerprint without an operator step (repeatable)
  --preauthorize-file F one fingerprint per line
  --accept-all          accept every new key (demo only)
  --pending-retry S     how long a pending node waits before asking again (default 30)
  --admit-rate N        handshakes admitted per second (default 4 % of the fleet, at least 20)
  --link-timeout S      drop a link silent this long (default 150; agents ping every 60)
  --report-rate N       reports stored per node per second (default 20, burst 200)
  --download-ttl S      how long an offer's download link is valid (default 2592000 = 30 days)
  --hub-id ID           this process's name in the store (default random)
  --map-tiles URL       dashboard map tiles, {z}/{x}/{y} template (default OpenStreetMap; "none": no tiles)
`;

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      store: { type: 'string' }, bundles: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' },
      'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
      'api-host': { type: 'string', default: '127.0.0.1' }, 'api-port': { type: 'string', default: '0' },
      'allow-origin': { type: 'string', multiple: true, default: [] },
      'public-url': { type: 'string' },
      preauthorize: { type: 'string', multiple: true, default: [] }, 'preauthorize-file': { type: 'string' },
      'accept-all': { type: 'boolean', default: false }, 'pending-retry': { type: 'string', default: '30' },
      'admit-rate': { type: 'string' }, 'link-timeout': { type: 'string', default: '150' },
      'report-rate': { type: 'string', default: '20' }, 'download-ttl': { type: 'string', default: String(30 * 86_400) },
      'hub-id': { type: 'string' }, 'map-tiles': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    io.out.write(SERVE_USAGE);
    return 0;
  }
  if (!values.store || !values.bundles) {
    io.err.write(`E_USAGE: --store and --bundles are required\n${SERVE_USAGE}`);
    return 2;
  }
  const num = (flag: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new OutpostError('E_USAGE', `--${flag}: expected a number >= ${min}`);
    return n;
  };
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new OutpostError('E_USAGE', '--tls-cert and --tls-key go together');
  const pem = async (f: string) => readFile(f).catch((err: Error) => {
    throw new OutpostError('E_HUB_TLS', `cannot read ${f}: ${err.message}`);
  });
  const tls = values['tls-cert'] && values['tls-key'] ? { cert: await pem(values['tls-cert']), key: await pem(values['tls-key']) } : undefined;
  const pre = [...values.preauthorize];
  if (values['preauthorize-file']) {
    pre.push(...(await readFile(values['preauthorize-file'], 'utf8')).split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l)));
  }
  const log = createLogger({ out: io.err, level: 'info' }).child('hub');
  const store = await openStore({ url: values.store });
  let hub;
  try {
    hub = await startHub({
      store, host: values.host, port: num('port', values.port, 0), ...(tls ? { tls } : {}),
      apiHost: values['api-host'], apiPort: num('api-port', values['api-port'], 0), allowedOrigins: values['allow-origin'],
      bundlesDir: values.bundles, ...(values['public-url'] ? { publicUrl: values['public-url'].replace(/\/+$/, '') } : {}),
      preauthorized: pre, acceptAll: values['accept-all'], pendingRetryS: num('pending-retry', values['pending-retry'], 1),
      ...(values['admit-rate'] ? { admitRatePerS: num('admit-rate', values['admit-rate'], 1) } : {}),
      linkTimeoutMs: num('link-timeout', values['link-timeout'], 1) * 1000,
      reportRatePerS: num('report-rate', values['report-rate'], 1),
      downloadTokenTtlS: num('download-ttl', values['download-ttl'], 60),
      ...(values['hub-id'] ? { hubId: values['hub-id'] } : {}),
      ...(values['map-tiles'] ? { dashboard: { tiles: values['map-tiles'] === 'none' ? null : values['map-tiles'] } } : {}),
      initialToken: true, log,
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  // The token line comes first: whoever waits for "listening" has it by then.
  if (hub.initialToken) io.out.write(`operator token (shown once; keep it): ${hub.initialToken}\n`);
  io.out.write(`outpost-hub listening on ${hub.url} (agents connect to ${hub.agentUrl}; operator API on ${hub.apiUrl})\n`);
  io.out.write(`dashboard: ${hub.apiUrl}/ (sign in with an operator token)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await hub.close();
  await store.close();
  return 0;
}
