// One proxy decision for the hub link and for downloads: the same NO_PROXY / HTTPS_PROXY settings
// route a connection to the same host the same way, whichever of the two makes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeFor } from '../../../agent/net/proxy.ts';
import { buildClientOptions } from '../../../agent/net/ws-transport.ts';
import { HttpTransport } from '../../../agent/net/http-transport.ts';
import { proxyFor } from '../../../agent/fetch/from-config.ts';
import { proxyEnvironment } from '../../../agent/config/sections/fetch.ts';
import { parseConfig } from '../../../agent/config/load.ts';
import { parseNoProxy } from '../../../agent/net/no-proxy.ts';
import { isOutpostError } from '../../../shared/errors.ts';

const PROXY = 'http://proxy.internal:3128';

/** Does the hub link, built as agent/app/app.ts builds it, go through the proxy? */
async function hubProxied(host: string, env: Record<string, string>): Promise<boolean> {
  const url = `wss://${host}/agent`;
  const route = routeFor(new URL(url), { proxy: null, noProxy: null }, proxyEnvironment(env));
  const opts = await buildClientOptions({ url, caFile: null, certFile: null, keyFile: null, proxy: route, handshakeTimeoutMs: 1000 });
  return opts.agent !== undefined;
}

/** Does a download, built as agent/fetch/from-config.ts builds its transport, go through the proxy? */
function downloadProxied(host: string, env: Record<string, string>): boolean {
  const url = `https://${host}/bundles/app.bundle`;
  const s = parseConfig({}).fetch;
  const pe = proxyEnvironment(env);
  const transport = new HttpTransport({ tls: { ca: [] }, proxy: proxyFor(url, s, pe), noProxy: s.noProxy ?? parseNoProxy(pe.noProxy) });
  return transport.route(new URL(url)) !== null;
}

const CASES: Array<{ host: string; noProxy: string; proxied: boolean }> = [
  { host: 'hub.example.com', noProxy: '', proxied: true },
  { host: 'hub.example.com', noProxy: 'example.com', proxied: false },
  { host: 'hub.example.com', noProxy: '.example.com', proxied: false },
  { host: 'badexample.com', noProxy: 'example.com', proxied: true },
  { host: 'hub.example.com', noProxy: '*', proxied: false },
  { host: '10.1.2.3', noProxy: '10.0.0.0/8', proxied: false },
  { host: '11.1.2.3', noProxy: '10.0.0.0/8', proxied: true },
  { host: '[fd00::5]', noProxy: 'fd00::/8', proxied: false },
  { host: 'hub.local:8443', noProxy: 'hub.local:8443', proxied: false },
  { host: 'hub.local:8443', noProxy: 'hub.local:443', proxied: true },
  { host: 'hub.local', noProxy: 'hub.local:443', proxied: false },
  { host: 'hub.example.com', noProxy: 'other.com, example.com', proxied: false },
];

test('the same NO_PROXY / HTTPS_PROXY give the same decision for the hub link and for downloads', async () => {
  for (const c of CASES) {
    const env = { HTTPS_PROXY: PROXY, NO_PROXY: c.noProxy };
    const hub = await hubProxied(c.host, env);
    const download = downloadProxied(c.host, env);
    assert.equal(hub, c.proxied, `hub link to ${c.host} with NO_PROXY=${c.noProxy}`);
    assert.equal(download, c.proxied, `download from ${c.host} with NO_PROXY=${c.noProxy}`);
  }
});

test('lower-case proxy variables win over upper-case ones, as with curl, for both', async () => {
  const env = { https_proxy: PROXY, HTTPS_PROXY: 'http://other:1', no_proxy: 'example.com', NO_PROXY: '' };
  assert.equal(await hubProxied('hub.example.com', env), false, 'no_proxy wins');
  assert.equal(downloadProxied('hub.example.com', env), false, 'no_proxy wins');
  const route = routeFor(new URL('wss://hub.other.org/agent'), { proxy: null, noProxy: null }, proxyEnvironment(env));
  assert.equal(route?.href, `${PROXY}/`, 'https_proxy wins');
});

test('explicit settings: "direct", a configured proxy; ws:// uses http_proxy; a non-http proxy is E_FETCH_PROXY', () => {
  const env = proxyEnvironment({ https_proxy: PROXY, no_proxy: 'local' });
  const wss = new URL('wss://hub.example.com/agent');
  assert.equal(routeFor(wss, { proxy: 'direct', noProxy: null }, env), null);
  assert.equal(routeFor(wss, { proxy: 'http://mine:8080', noProxy: null }, env)?.host, 'mine:8080');
  assert.equal(routeFor(new URL('ws://hub.example.com/agent'), { proxy: null, noProxy: null }, env), null, 'no http_proxy set');
  assert.equal(routeFor(wss, { proxy: null, noProxy: ['example.com'] }, env), null, 'configured NO_PROXY list replaces the environment');
  assert.throws(() => routeFor(wss, { proxy: 'socks5://p:1080', noProxy: null }, env), (e) => isOutpostError(e, 'E_FETCH_PROXY'));
});
