// The reference hub CLI: `node hub/main.ts --port 0 --state hub.json --bundles DIR`.
// Prints its URLs, then logs JSON lines to stderr. Operate it with hub/ctl/hub-ctl.ts.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { createLogger } from '../agent/log/logger.ts';
import { startDevHub } from './app.ts';

const USAGE = `usage: dev-hub.ts --state FILE --bundles DIR [options]
  --port N              listen port (0 = any free port; default 0)
  --host ADDR           listen address (default 127.0.0.1)
  --state FILE          the hub's single state file (created if missing)
  --bundles DIR         bundle files served at /bundles/NAME (HTTP Range supported)
  --preauthorize FP     accept this key fingerprint without an operator step (repeatable)
  --preauthorize-file F one fingerprint per line
  --accept-all          accept every new key (demo only)
  --pending-retry S     how long a pending node waits before asking again (default 30)
  --public-url URL      base URL put into offers (default: this hub's URL)
`;

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    state: { type: 'string' },
    bundles: { type: 'string' },
    preauthorize: { type: 'string', multiple: true, default: [] },
    'preauthorize-file': { type: 'string' },
    'accept-all': { type: 'boolean', default: false },
    'pending-retry': { type: 'string', default: '30' },
    'public-url': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help || !values.state || !values.bundles) {
  process.stderr.write(USAGE);
  process.exit(values.help ? 0 : 2);
}

const pre = [...values.preauthorize];
if (values['preauthorize-file']) {
  pre.push(...(await readFile(values['preauthorize-file'], 'utf8')).split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l)));
}
const log = createLogger({ out: process.stderr, level: 'info' }).child('dev-hub');
const hub = await startDevHub({
  host: values.host, port: Number(values.port), stateFile: values.state, bundlesDir: values.bundles,
  preauthorized: pre, acceptAll: values['accept-all'], pendingRetryS: Number(values['pending-retry']),
  ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}), log,
});
process.stdout.write(`dev-hub listening on ${hub.url} (agents connect to ${hub.agentUrl})\n`);
const stop = () => void hub.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
