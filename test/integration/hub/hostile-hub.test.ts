// A hostile hub sends 10,000 valid commands that cost work — inventory.refresh (root scripts),
// reboot, config.push — to a real `outpost run`. The node does at most what the documented
// rate limits allow (docs/hub.md, Command rate limits): the reboot command runs at most
// 1 + elapsed/600 s times, the inventory scripts at most 2 + elapsed/60 s times (plus the connect
// inventory), the agent's CPU time (its own and its children's, from /proc/<pid>/stat) stays far
// below what the refused work would cost, and the state directory stays small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeHubMessage } from '../../../shared/protocol/index.ts';
import { COMMAND_LIMITS } from '../../../agent/hub/command-limits.ts';
import { waitFor } from '../../support/dev-hub.ts';
import { spawnAgent } from './agent-process.ts';
import { writeAgentConfig } from './agent-config.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');
const TICK_S = 1 / 100; // USER_HZ: /proc times are in 1/100 s on Linux

/** utime + stime + cutime + cstime of `pid` in seconds (children count once they are reaped). */
async function cpuSeconds(pid: number | 'self'): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3, utime field 14 … cstime field 17.
  return [11, 12, 13, 14].reduce((n, i) => n + Number(f[i]), 0) * TICK_S;
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    // The agent writes as we walk: a temp file may be renamed away between listing and stat.
    if (e.isFile()) n += (await stat(join(e.parentPath, e.name)).catch(() => null))?.size ?? 0;
  }
  return n;
}

const lines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

test('10,000 refresh/reboot/push commands: reboots, script runs, CPU and state size stay within the documented limits', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hostile-hub-'));
  const root = join(dir, 'node');
  const reboots = join(dir, 'reboots');
  const runs = join(dir, 'script-runs');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const listening = new Promise((r) => wss.once('listening', r));
  let agent: ReturnType<typeof spawnAgent> | null = null;
  try {
    // A script that costs real CPU, like the inventory scripts of the finding (0.8 s each).
    await mkdir(join(root, 'inv'), { recursive: true, mode: 0o755 });
    const script = join(root, 'inv', 'burn');
    await writeFile(script, `#!/bin/sh\necho run >> ${runs}\ni=0; while [ $i -lt 200000 ]; do i=$((i+1)); done\necho burned=$i\n`);
    await chmod(script, 0o755);
    // Reference in this run: what one script run costs (reaped by this process).
    const before = await cpuSeconds('self');
    spawnSync(script, { env: { ...process.env } });
    const scriptCpuS = (await cpuSeconds('self')) - before;
    await rm(runs, { force: true });

    await listening;
    let conn: WebSocket | null = null;
    let connections = 0;
    const acks: Array<{ ref: string; result: string; code?: string; retryAfterS?: number }> = [];
    const results: string[] = [];
    let inventories = 0;
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'hello') connections++, ws.send(encodeHubMessage({ v: 1, type: 'challenge', id: 'h-c', nonce: Buffer.alloc(32, 7).toString('base64') }));
        else if (m.type === 'auth') {
          ws.send(encodeHubMessage({ v: 1, type: 'auth.result', id: 'h-a', result: 'accepted', ackedSeq: 0, node: 'hostile' }));
          conn = ws;
        } else if (m.type === 'ack') acks.push(m);
        else if (typeof m.seq === 'number') {
          if (m.type === 'command.result') results.push(m.ref);
          if (m.type === 'inventory') inventories++;
          ws.send(encodeHubMessage({ v: 1, type: 'report.ack', id: `h-r${m.seq}`, upTo: m.seq }));
        }
      });
    });
    // A slow heartbeat: on a loaded machine a 1 s one can drop the link mid-batch (lost commands).
    const config = await writeAgentConfig(root, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { pingIntervalMs: 60_000, authTimeoutMs: 60_000 }, {
      update: { rebootCommand: ['/bin/sh', '-c', `echo reboot >> ${reboots}`] },
      // The cron schedule must not add collections during the test.
      inventory: { scriptsDir: '/inv', schedule: '0 0 1 1 *', scriptTimeoutMs: 60_000 },
    });
    agent = spawnAgent([BIN, 'run', '--config', config]);
    const pid = agent.proc.pid!;
    await waitFor('authenticated', () => conn !== null, 60_000);
    await waitFor('the connect inventory', () => inventories >= 1, 120_000);
    await waitFor('its script run', async () => (await lines(runs)) === 1, 60_000);
    const stateDir = join(root, 'state');
    const stateBefore = await dirBytes(stateDir);
    const cpuBefore = await cpuSeconds(pid);
    const started = Date.now();

    const TOTAL = Number(process.env.HOSTILE_TOTAL ?? 10_000);
    const BATCH = 500;
    const kinds = ['inventory.refresh', 'reboot', 'config.push'] as const;
    for (let sent = 0; sent < TOTAL; sent += BATCH) {
      for (let i = sent; i < sent + BATCH; i++) {
        const type = kinds[i % 3]!;
        const id = `x-${i}`;
        conn!.send(encodeHubMessage(
          type === 'config.push' ? { v: 1, type, id, config: { reportIntervals: { inventoryS: 3600 + (i % 100) } } }
            : type === 'reboot' ? { v: 1, type, id, reason: 'hostile' } : { v: 1, type, id },
        ));
      }
      // Waiting per batch keeps the agent below its 1,024-message queue (no E_PROTOCOL_BUSY).
      await waitFor(`acks for the batch at ${sent}`, () => acks.length >= sent + BATCH, 120_000, { everyMs: 20 }).catch((err) => {
        throw new Error(`${err.message} (${acks.length} acks, ${connections} connections); agent log tail: ${JSON.stringify(agent!.logs().slice(-8))}`);
      });
    }
    const accepted = (type: string) => acks.filter((a) => a.ref.startsWith('x-') && kinds[Number(a.ref.slice(2)) % 3] === type && a.result === 'accepted').length;
    const refreshes = accepted('inventory.refresh');
    await waitFor('every accepted refresh has its command.result', () => results.length >= refreshes, 120_000);
    await waitFor('every accepted reboot ran', async () => (await lines(reboots)) >= accepted('reboot'), 60_000);
    const elapsedS = (Date.now() - started) / 1000;
    const cpu = (await cpuSeconds(pid)) - cpuBefore;

    const allowed = (type: keyof typeof COMMAND_LIMITS) => COMMAND_LIMITS[type].burst + Math.ceil(elapsedS / COMMAND_LIMITS[type].everyS);
    const rebootRuns = await lines(reboots);
    const scriptRuns = (await lines(runs)) - 1;
    const refused = acks.filter((a) => a.code === 'E_RATE_LIMITED');
    const stateGrowth = (await dirBytes(stateDir)) - stateBefore;
    const figures = { elapsedS: Math.round(elapsedS), cpuS: cpu.toFixed(2), scriptCpuS: scriptCpuS.toFixed(3), rebootRuns, scriptRuns, pushes: accepted('config.push'), refused: refused.length, stateGrowth };
    process.stdout.write(`# hostile hub: ${JSON.stringify(figures)}\n`);

    assert.equal(connections, 1, 'one connection throughout');
    assert.equal(acks.length, TOTAL, 'every command acknowledged');
    assert.ok(rebootRuns >= 1 && rebootRuns <= allowed('reboot'), `reboot command ran ${rebootRuns} times (limit ${allowed('reboot')})`);
    assert.ok(scriptRuns <= allowed('inventory.refresh'), `inventory scripts ran ${scriptRuns} times (limit ${allowed('inventory.refresh')})`);
    assert.ok(accepted('config.push') <= allowed('config.push'), `${accepted('config.push')} pushes stored`);
    assert.ok(refused.every((a) => a.result === 'rejected' && a.retryAfterS! >= 1), 'refusals carry retryAfterS');
    assert.equal(refused.length + accepted('inventory.refresh') + accepted('reboot') + accepted('config.push'), TOTAL);
    // Unlimited, 3,334 refreshes would have cost 3,334 script runs. Allowed: the permitted runs
    // plus the handling of 10,000 frames (a few ms each); 60 s is generous on a loaded machine.
    const budget = allowed('inventory.refresh') * Math.max(scriptCpuS, 0.05) + 60;
    assert.ok(cpu < budget, `agent CPU ${cpu.toFixed(1)} s over budget ${budget.toFixed(1)} s`);
    assert.ok(stateGrowth < 512 * 1024, `state dir grew ${stateGrowth} bytes`);

    // Still working after the flood.
    assert.equal(agent.proc.exitCode, null, 'agent still running');
  } finally {
    await agent?.stop();
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});
