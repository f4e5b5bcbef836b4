// Kill the agent (SIGKILL, like a power cut) mid-download and start it again: the new process
// resumes from the journal's durable block record with one Range request, not from zero, and the
// slot ends up holding the verified image.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestNode, REPO } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { startFlakyServer } from '../../support/flaky-http-server.ts';

const BLOCK = 64 * 1024;
const kit = await makeKit({ imageSize: 8 << 20, blockSize: BLOCK });
const node = await TestNode.create({ kit, slotSize: 16 << 20, checkpointBytes: 256 << 10 });
const bundle = await readFile(kit.bundle);
const server = await startFlakyServer({ body: bundle });
after(async () => {
  await server.close();
  await node.dispose();
  await kit.dispose();
});

// Throttled so the kill reliably lands mid-download.
const config = JSON.parse(await readFile(node.configPath, 'utf8'));
config.fetch = { maxBytesPerSecond: 4 << 20, retryBaseMs: 10, retryCapMs: 100 };
await writeFile(node.configPath, JSON.stringify(config));

interface Run {
  code: number | null;
  stdout: string;
  killed: boolean;
}

function agent(args: string[], killAtBytes: number | null): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'test/component/fetch/http-install-child.ts'), node.configPath, ...args], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let killed = false;
    child.stdout.on('data', (b: Buffer) => {
      stdout += b;
      const done = [...stdout.matchAll(/^progress (\d+) /gm)].at(-1);
      if (!killed && killAtBytes !== null && done && Number(done[1]) >= killAtBytes) {
        killed = true;
        process.kill(-child.pid!, 'SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, killed }));
  });
}

test('SIGKILL mid-download, restart: resumes from the durable record with one Range request', async () => {
  const first = await agent(['start', server.url], 3 << 20);
  assert.equal(first.killed, true, `the first run finished before the kill: ${first.stdout}`);
  const journal = await node.journal();
  assert.equal(journal?.state, 'writing');
  const resumeBlock = journal!.progress!.nextBlock;
  assert.ok(resumeBlock * BLOCK >= 2 << 20, `journal recorded block ${resumeBlock}`);
  const sentBefore = server.bytesSent();
  const requestsBefore = server.requests.length;

  const second = await agent(['resume'], null);
  assert.equal(second.code, 0, second.stdout);
  assert.match(second.stdout, /result \{"kind":"parked"/, 'written, verified, armed, reboot requested');
  const resumed = server.requests.slice(requestsBefore);
  assert.equal(resumed.length, 1, 'one request for the rest');
  const start = Number(/^bytes=(\d+)-/.exec(resumed[0]!.range ?? '')![1]);
  const dataOffset = bundle.length - 1024 - Math.ceil(kit.new.size / 512) * 512; // single payload, then the tar end
  assert.equal(start, dataOffset + resumeBlock * BLOCK, 'Range starts at the first block the journal lacked');
  assert.equal(server.bytesSent() - sentBefore, dataOffset + kit.new.size - start, 'only the missing blocks were sent');
  assert.equal(await node.reboot(), 'B');
  assert.equal(await node.holds('B'), 'new');
});
