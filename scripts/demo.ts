// `npm start`: the whole Outpost story in one command, with real processes and no root.
//
//   1. a hub (`outpost-hub serve`, SQLite store in one file), a signing key and two signed
//      releases: 2.0 good, 2.1 broken (its app does not come up after boot)
//   2. five nodes: A/B slots in files, a GRUB env file, the agent (`outpost run`) under a boot
//      simulator; one of them may download only in a window that is closed now
//   3. the nodes connect; the operator accepts their keys
//   4. 2.0 is rolled out in waves (20% → 100%): the second wave opens only after the first
//      committed; the node outside its window waits (not failed) until the operator pushes one
//   5. 2.1 is rolled out the same way: its first node fails its health check and rolls back on
//      its own, the rollout pauses itself and says why; the other four never receive 2.1
//   6. the hub's view of the fleet
//   7. with --serve: the hub, its dashboard and the nodes stay up until Ctrl-C
//
// The dashboard's address, with the operator token in its fragment, is printed as soon as the hub
// runs, so the rollouts can be watched in a browser while the story goes on.
// Options: --keep (keep the temp directory), --serve (stay up after the story until Ctrl-C, then
// clean up and exit 0), --timeout SECONDS (default 180; the story's deadline, not --serve's).
// Logs: every agent's JSON lines go to nodes/<name>/agent.log, the hub's to hub.log.
import { parseArgs } from 'node:util';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chapter, detail, mib, say } from './demo/say.ts';
import { outpost } from './demo/run-cli.ts';
import { DemoHub } from './demo/hub.ts';
import { DemoNode } from './demo/node.ts';
import { writeDemoImage } from './demo/image.ts';
import { narrator } from './demo/narrator.ts';
import { DemoFailure, abortReason, waitFor } from './demo/wait.ts';
import { followRollout, type Until } from './demo/follow.ts';

const { values: opts } = parseArgs({ options: { keep: { type: 'boolean', default: false }, serve: { type: 'boolean', default: false }, timeout: { type: 'string', default: '180' } } });
const NODES = ['gw-berlin-01', 'gw-berlin-02', 'gw-berlin-03', 'gw-berlin-04', 'gw-berlin-05'];
/** This one may download only in a window that is closed when the demo starts. */
const LATE = 'gw-berlin-05';
const COMPATIBLE = 'outpost-demo-gw';
const IMAGE_SIZE = 2 << 20; // 32 blocks of 64 KiB
const RATE = 2 << 20; // bytes per second while downloading

const seconds = Number(opts.timeout);
if (!(seconds > 0)) {
  process.stderr.write('usage: npm start -- [--keep] [--serve] [--timeout SECONDS]\n');
  process.exit(2);
}
// One signal ends every wait: the overall deadline, or Ctrl-C (children are still cleaned up).
const interrupted = new AbortController();
const signal = AbortSignal.any([interrupted.signal, AbortSignal.timeout(seconds * 1000)]);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => interrupted.abort(new Error(`stopped by ${sig}`)));
const dir = await mkdtemp(join(tmpdir(), 'outpost-demo-'));
let hub = null as DemoHub | null;
const nodes = new Map<string, DemoNode>();
let ok = false;

try {
  await story();
  ok = true;
  if (opts.serve) await serve();
} catch (err) {
  const why = err instanceof DemoFailure ? err.message : signal.aborted ? abortReason(signal) : ((err as Error).stack ?? String(err));
  process.stderr.write(`\nDEMO FAILED: ${why}\n`);
  process.stderr.write(`  agent logs: ${join(dir, 'nodes')}/<name>/agent.log\n  hub log:    ${join(dir, 'hub.log')}\n  (the temp directory ${dir} is kept)\n`);
} finally {
  await Promise.all([...nodes.values()].map((n) => n.shutdown().catch(() => {})));
  await hub?.stop().catch(() => {});
  if (ok && !opts.keep) await rm(dir, { recursive: true, force: true });
  else if (ok) say(`kept ${dir} (hub.log, hub.db, nodes/<name>/ with slots, boot env, state and agent.log)`);
}
process.exit(ok ? 0 : 1);

async function story(): Promise<void> {
  say(`working directory ${dir} (removed at the end unless --keep)`);
  chapter('1. A hub, a signing key and two releases');
  const bundles = join(dir, 'hub-bundles');
  await mkdir(bundles);
  // The hub starts while CI signs the releases: it registers a bundle when it is first asked for.
  // Assigned as soon as it runs, so a failure meanwhile still stops it.
  const started = DemoHub.start({ store: join(dir, 'hub.db'), bundles, log: join(dir, 'hub.log'), signal }).then((x) => (hub = x));
  started.catch(() => {});
  const keys = join(dir, 'ci-keys');
  await outpost(['bundle', 'keygen', '--out', keys, '--id', 'demo-ci'], signal);
  const images = join(dir, 'images');
  await mkdir(images);
  const release = async (version: string, rel: number, healthy: boolean) => {
    const img = join(images, `rootfs-${version}.img`);
    await writeDemoImage(img, { version, healthy, size: IMAGE_SIZE });
    const name = `rootfs-${version}.bundle`;
    await outpost(['bundle', 'create', '--image', img, '--version', version, '--release', String(rel), '--compatible', COMPATIBLE,
      '--key', join(keys, 'demo-ci.key'), '--block-size', '64K', '--out', join(bundles, name)], signal);
    return name;
  };
  const factory = join(images, 'rootfs-1.0.img');
  const [, good, bad] = await Promise.all([
    outpost(['bundle', 'trust', 'init', '--key', join(keys, 'demo-ci.pub'), '--out', join(dir, 'root.json')], signal),
    release('2.0', 2, true), release('2.1', 3, false), writeDemoImage(factory, { version: '1.0', healthy: true, size: IMAGE_SIZE }),
  ]);
  say('CI: `outpost bundle keygen` made signing key demo-ci; `outpost bundle trust init` made the trust store nodes ship with');
  say(`CI: signed ${good} (healthy) and ${bad} (its app does not start after boot), ${mib(IMAGE_SIZE)} each`);
  const h = await started;
  say(`hub: \`outpost-hub serve\` listening on ${h.url} for agents, operator API on ${h.apiUrl}`);
  detail('store: one SQLite file (hub.db); bundles registered from their signed manifests; operator token printed once at first start');
  detail(`operator: export OUTPOST_HUB_URL=${h.apiUrl} OUTPOST_HUB_TOKEN=<the token>`);
  say(`dashboard: open ${dashboardUrl(h)} in a browser to watch the fleet and its rollouts`);
  detail(`the link carries the operator token (in its #fragment, which the browser never sends); ${opts.serve ? 'the hub stays up after the story until Ctrl-C' : 'add --serve to keep the hub up after the story'}`);

  chapter('2. Five nodes');
  const failed = () => [...nodes.values()].find((n) => n.failure)?.failure ?? null;
  const until: Until = (what, check) => waitFor(what, check, { signal, failed });
  const logged = new Map<string, Set<string>>();
  const window = dailyWindow(3 * 60); // opens in three hours: closed now
  await Promise.all(NODES.map(async (name, i) => {
    const node = await DemoNode.create({
      dir: join(dir, 'nodes', name), deviceId: name, hubUrl: h.agentUrl, slotSize: 4 << 20, compatible: COMPATIBLE, trustFile: join(dir, 'root.json'),
      factoryImage: { path: factory, version: '1.0', release: 1 }, compileCache: join(dir, 'compile-cache'),
      extra: {
        fetch: { ...(name === LATE ? { windows: [window] } : {}), maxBytesPerSecond: RATE },
        location: { siteId: `BER-0${i + 1}`, siteName: `Berlin depot ${i + 1}`, latitude: 52.5 + i / 100, longitude: 13.4, accuracyM: 5, surveyedAt: '2026-03-02T10:00:00Z', gpsd: false },
      },
    });
    nodes.set(name, node);
    const seen = new Set<string>();
    logged.set(name, seen);
    node.onLog(narrator(name, true));
    node.onLog((l) => seen.add(String(l.msg)));
  }));
  say(`${NODES.length} nodes, gw-berlin-01 … 05: slots A and B are 4 MiB files each, a GRUB env file, factory version 1.0 in slot A`);
  detail(`${LATE} may download only in a daily window (cron "${window.cron}" UTC, 60 min): closed now`);
  detail('health check on every node: reads the self-test result of the image in the running slot');
  await Promise.all([...nodes.values()].map((n) => n.powerOn()));
  say('nodes: `outpost run` started on all five');

  chapter('3. The nodes meet the hub');
  const pending = await until('all five nodes to appear at the hub', async () => {
    const all = await Promise.all(NODES.map((n) => h.node(n)));
    return all.every((n) => n?.status === 'pending') ? all.map((n) => n!) : null;
  });
  say('hub: five new keys, all pending (the hub never trusts a name a node claims, only its key)');
  await h.ctl(['preauthorize', ...pending.map((n) => n.fingerprint)]);
  say('operator: `outpost-hub ctl preauthorize <the five fingerprints>` accepts them');
  await until('the nodes to report after acceptance', async () => (await Promise.all(NODES.map((n) => h.node(n)))).every((n) => n?.online && n.running && n.inventory));
  say(`operator: \`outpost-hub ctl nodes --compatible ${COMPATIBLE}\`:`);
  for (const line of (await h.ctl(['nodes', '--compatible', COMPATIBLE])).trimEnd().split('\n')) detail(line);

  chapter('4. Release 2.0 in waves: 20% → 100%');
  say(`operator: \`outpost-hub ctl rollout create --bundle ${good} --compatible ${COMPATIBLE} --waves 20%,100% --id rollout-2-0\``);
  await h.ctl(['rollout', 'create', '--bundle', good, '--compatible', COMPATIBLE, '--waves', '20%,100%', '--id', 'rollout-2-0', '--deadline', '600']);
  let pushed = false;
  const first = await followRollout(h, 'rollout-2-0', until, async () => {
    // The node outside its window accepted the offer and waits: the rollout counts it as waiting.
    if (pushed || !logged.get(LATE)!.has('downloads paused')) return;
    pushed = true;
    const open = dailyWindow(-5);
    say(`operator: pushes ${LATE} a download window that is open now (\`ctl command --type config.push\`, cron "${open.cron}" UTC)`);
    await h.ctl(['command', '--node', LATE, '--type', 'config.push', '--config', JSON.stringify({ windows: [open] })]);
  });
  if (first.status !== 'completed') throw new DemoFailure(`rollout-2-0 should have completed, it is ${first.status}: ${first.reason ?? ''}`);
  say('operator: `outpost-hub ctl rollout show rollout-2-0`:');
  for (const line of (await h.ctl(['rollout', 'show', 'rollout-2-0'])).trimEnd().split('\n')) detail(line);

  chapter('5. Release 2.1 in waves: the first node fails, the rollout stops itself');
  say(`operator: \`outpost-hub ctl rollout create --bundle ${bad} --compatible ${COMPATIBLE} --waves 20%,100% --id rollout-2-1\` (any failure pauses it)`);
  await h.ctl(['rollout', 'create', '--bundle', bad, '--compatible', COMPATIBLE, '--waves', '20%,100%', '--id', 'rollout-2-1', '--deadline', '600']);
  const second = await followRollout(h, 'rollout-2-1', until, async () => {});
  if (second.status !== 'paused' || second.wave !== 1) throw new DemoFailure(`rollout-2-1 should have paused in wave 1, it is ${second.status} in wave ${second.wave}`);
  say(`hub: rollout-2-1 PAUSED by itself: ${second.reason}`);
  const reached = (await Promise.all(NODES.map((n) => h.node(n)))).filter((n) => n!.deployments.some((d) => d.rolloutId === 'rollout-2-1'));
  if (reached.length !== 1) throw new DemoFailure(`2.1 should have reached one node, it reached ${reached.length}`);
  say(`hub: 2.1 reached only ${reached[0]!.deviceId}; the other four never received it`);
  say('operator: `outpost-hub ctl rollout abort rollout-2-1 --reason "2.1 fails its self-test"`');
  await h.ctl(['rollout', 'abort', 'rollout-2-1', '--reason', '2.1 fails its self-test']);
  for (const line of (await h.ctl(['rollout', 'show', 'rollout-2-1'])).trimEnd().split('\n')) detail(line);

  chapter("6. The hub's view of the fleet");
  // After its last reboot the canary says hello again: the hub sees 2.0 running everywhere.
  await until('every node to run 2.0 again at the hub', async () => (await Promise.all(NODES.map((n) => h.node(n)))).every((n) => n?.online && n.running?.version === '2.0'));
  say(`operator: \`outpost-hub ctl nodes --compatible ${COMPATIBLE}\`:`);
  for (const line of (await h.ctl(['nodes', '--compatible', COMPATIBLE])).trimEnd().split('\n')) detail(line);
  say('operator: `outpost-hub ctl rollout list`:');
  for (const line of (await h.ctl(['rollout', 'list'])).trimEnd().split('\n')) detail(line);
  say('demo finished: every step above ran through the real CLI, hub and agent processes');
}

/** The dashboard on the hub's operator listener, signed in by the token in the fragment. */
function dashboardUrl(h: DemoHub): string {
  return `${h.apiUrl}/#token=${encodeURIComponent(h.token)}`;
}

/** --serve: the story is over; the hub, its dashboard and the nodes run on until Ctrl-C. */
async function serve(): Promise<void> {
  chapter('7. The hub and its dashboard stay up');
  say(`dashboard: ${dashboardUrl(hub!)}`);
  say('the hub, its dashboard and the five nodes keep running: press Ctrl-C to stop them and clean up');
  // Only Ctrl-C (or SIGTERM) ends this: the story's deadline is over with the story.
  if (!interrupted.signal.aborted) await new Promise((done) => interrupted.signal.addEventListener('abort', done, { once: true }));
  say(`${abortReason(interrupted.signal)}: stopping the nodes and the hub`);
}

/** A daily window (UTC) that starts `fromNowMinutes` from now and lasts an hour. */
function dailyWindow(fromNowMinutes: number) {
  const start = new Date(Date.now() + fromNowMinutes * 60_000);
  return { cron: `${start.getUTCMinutes()} ${start.getUTCHours()} * * *`, durationMinutes: 60, timezone: 'UTC' };
}
