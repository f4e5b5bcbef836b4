// A hostile hub offers URLs on an "internal" service (a loopback HTTP server standing in for a
// router's admin page) to a real `outpost run` with update slots. The hub must learn the code and
// nothing else: no status line, no address, no byte count, no body — in update.state and
// update.outcome alike. The node's own log keeps the details.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeHubMessage } from '../../../shared/protocol/index.ts';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { waitFor } from '../../support/dev-hub.ts';
import { spawnAgent } from './agent-process.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');
const SECRET = 'router-admin-7f3a';

test('a hub probing internal addresses through offers reads back only a code', { timeout: 300_000 }, async () => {
  const internal = createServer((req, res) => {
    if (req.url === '/forbidden') {
      res.writeHead(403, 'Forbidden by ' + SECRET, { 'content-type': 'text/html', 'x-internal': SECRET });
      res.end(`<html>${SECRET} login</html>`);
    } else {
      res.writeHead(200, { 'content-type': 'text/html', 'x-internal': SECRET });
      res.end(`<html><title>${SECRET}</title>${'x'.repeat(12_345)}</html>`);
    }
  });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const listening = Promise.all([new Promise((r) => wss.once('listening', r)), new Promise<void>((r) => internal.listen(0, '127.0.0.1', r))]);
  const kit = await makeKit({ imageSize: 1 << 20, blockSize: 64 << 10 });
  const node = await TestNode.create({ kit, slotSize: 2 << 20 });
  let agent: ReturnType<typeof spawnAgent> | null = null;
  try {
    await listening;
    const reports: Array<Record<string, unknown>> = [];
    const acks: Array<Record<string, unknown>> = [];
    let conn: WebSocket | null = null;
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'hello') ws.send(encodeHubMessage({ v: 1, type: 'challenge', id: 'h-c', nonce: Buffer.alloc(32, 3).toString('base64') }));
        else if (m.type === 'auth') {
          ws.send(encodeHubMessage({ v: 1, type: 'auth.result', id: 'h-a', result: 'accepted', ackedSeq: 0, node: 'probe' }));
          conn = ws;
        } else if (m.type === 'ack') acks.push(m);
        else if (typeof m.seq === 'number') {
          reports.push(m);
          ws.send(encodeHubMessage({ v: 1, type: 'report.ack', id: `h-r${m.seq}`, upTo: m.seq }));
        }
      });
    });
    const config = JSON.parse(await readFile(node.configPath, 'utf8'));
    config.hub = { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, backoffBaseMs: 100, backoffCapMs: 1000, pingIntervalMs: 60_000, authTimeoutMs: 60_000 };
    config.inventory = { scriptsDir: null };
    config.location = { gpsd: false };
    await writeFile(node.configPath, JSON.stringify(config, null, 2));
    agent = spawnAgent([BIN, 'run', '--config', node.configPath]);
    await waitFor('authenticated', () => conn !== null, 90_000);

    const port = (internal.address() as AddressInfo).port;
    for (const [i, path] of ['/forbidden', '/page'].entries()) {
      const deploymentId = `probe-${i}`;
      conn!.send(encodeHubMessage({
        v: 1, type: 'offer', id: `o-${i}`, deploymentId, now: true, version: '2.0', release: '2',
        bundle: { url: `http://127.0.0.1:${port}${path}`, size: 12_400, manifestSha256: 'a'.repeat(64) },
      }));
      const outcome = await waitFor(`outcome of ${deploymentId}`, () => reports.find((r) => r.type === 'update.outcome' && r.deploymentId === deploymentId), 180_000);
      assert.equal(acks.find((a) => a.ref === `o-${i}`)?.result, 'accepted');
      assert.equal(outcome.result, 'failure');
      assert.match(String(outcome.code), /^E_(FETCH|BUNDLE|OFFER)_/);
      // Everything the hub heard about this deployment.
      // Times are the node's own (report `at`, log `t`): a port or status code may appear in them by
      // chance (14:20:07.403Z), so they are left out of the search.
      const heard = JSON.stringify(reports.filter((r) => r.deploymentId === deploymentId && r.type !== 'update.progress'))
        .replace(/\\?"at\\?":\d+/g, '').replace(/\\?"t\\?":\\?"[0-9T:.Z-]+\\?"/g, '');
      for (const leak of [SECRET, String(port), '127.0.0.1', '403', 'Forbidden', '12345', '12,345', 'html']) {
        assert.ok(!heard.includes(leak), `the hub read back "${leak}": ${heard}`);
      }
    }
    // The node's own log keeps the detail for its operator.
    assert.ok(JSON.stringify(agent.logs()).includes(String(port)), 'the local log names the address');
  } finally {
    await agent?.stop();
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
    await new Promise((r) => internal.close(r));
    await node.dispose();
    await kit.dispose();
  }
});
