// `npm start`: the whole Outpost story in one command, with real processes and no root.
//
//   1. a reference hub, a signing key, a trust store and two signed releases (2.0 good, 2.1 broken)
//   2. a node: A/B slots in files, a GRUB env file, the agent (`outpost run`) under a boot simulator
//   3. the node connects, an operator accepts it, it reports inventory and its surveyed location
//   4. 2.0 is offered: it waits for the node's download window; the operator pushes one that is
//      open now; download at a capped rate, install, reboot, health checks, commit
//   5. 2.1 is offered: install, reboot, its health check fails, the node rolls back on its own
//   6. the hub's view of the node
//
// Options: --keep (keep the temp directory), --timeout SECONDS (default 120).
// Logs: the agent's and the hub's JSON lines go to agent.log and hub.log in the temp directory.
import { parseArgs } from 'node:util';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chapter, detail, mib, say } from './demo/say.ts';
import { outpost, hubCtl } from './demo/run-cli.ts';
import { DemoHub, type HubNode } from './demo/hub.ts';
import { DemoNode } from './demo/node.ts';
import { writeDemoImage } from './demo/image.ts';
import { narrateBoot, narrateLog } from './demo/narrator.ts';
import { DemoFailure, abortReason, waitFor } from './demo/wait.ts';

const { values: opts } = parseArgs({ options: { keep: { type: 'boolean', default: false }, timeout: { type: 'string', default: '120' } } });
const DEVICE = 'gw-berlin-01';
const COMPATIBLE = 'outpost-demo-gw';
const IMAGE_SIZE = 3 << 20; // 48 blocks of 64 KiB
const RATE = 1 << 20; // bytes per second while downloading: slow enough to watch

const seconds = Number(opts.timeout);
if (!(seconds > 0)) {
  process.stderr.write('usage: npm start -- [--keep] [--timeout SECONDS]\n');
  process.exit(2);
}
// One signal ends every wait: the overall deadline, or Ctrl-C (children are still cleaned up).
const interrupted = new AbortController();
const signal = AbortSignal.any([interrupted.signal, AbortSignal.timeout(seconds * 1000)]);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => interrupted.abort(new Error(`stopped by ${sig}`)));
const dir = await mkdtemp(join(tmpdir(), 'outpost-demo-'));
let hub = null as DemoHub | null;
let node = null as DemoNode | null;
let ok = false;

try {
  await story();
  ok = true;
} catch (err) {
  const why = err instanceof DemoFailure ? err.message : signal.aborted ? abortReason(signal) : ((err as Error).stack ?? String(err));
  process.stderr.write(`\nDEMO FAILED: ${why}\n`);
  process.stderr.write(`  agent log: ${join(dir, 'agent.log')}\n  hub log:   ${join(dir, 'hub.log')}\n  (the temp directory ${dir} is kept)\n`);
} finally {
  await node?.shutdown().catch(() => {});
  await hub?.stop().catch(() => {});
  if (ok && !opts.keep) await rm(dir, { recursive: true, force: true });
  else if (ok) say(`kept ${dir} (agent.log, hub.log, node/ with slots, boot env and state)`);
}
process.exit(ok ? 0 : 1);

async function story(): Promise<void> {
  say(`working directory ${dir} (removed at the end unless --keep)`);
  chapter('1. A hub, a signing key and two releases');
  const bundles = join(dir, 'hub-bundles');
  await mkdir(bundles);
  hub = await DemoHub.start({ state: join(dir, 'hub.db'), bundles, log: join(dir, 'hub.log'), signal });
  say(`reference hub listening on ${hub.url} (SQLite store, bundles served with HTTP Range to accepted nodes)`);

  const keys = join(dir, 'ci-keys');
  await outpost(['bundle', 'keygen', '--out', keys, '--id', 'demo-ci'], signal);
  await outpost(['bundle', 'trust', 'init', '--key', join(keys, 'demo-ci.pub'), '--out', join(dir, 'root.json')], signal);
  say('CI: `outpost bundle keygen` made signing key demo-ci; `outpost bundle trust init` made the trust store nodes ship with');

  const images = join(dir, 'images');
  await mkdir(images);
  const release = async (version: string, rel: number, healthy: boolean) => {
    const img = join(images, `rootfs-${version}.img`);
    await writeDemoImage(img, { version, healthy, size: IMAGE_SIZE });
    const name = `rootfs-${version}.bundle`;
    await outpost(['bundle', 'create', '--image', img, '--version', version, '--release', String(rel), '--compatible', COMPATIBLE,
      '--key', join(keys, 'demo-ci.key'), '--block-size', '64K', '--out', join(bundles, name)], signal);
    return { img, name, version, release: rel };
  };
  const factory = join(images, 'rootfs-1.0.img');
  await writeDemoImage(factory, { version: '1.0', healthy: true, size: IMAGE_SIZE });
  const good = await release('2.0', 2, true);
  const bad = await release('2.1', 3, false);
  say(`CI: signed ${good.name} (healthy) and ${bad.name} (its app does not start after boot), ${mib(IMAGE_SIZE)} each, 64 KiB blocks`);

  chapter('2. A node');
  // The node may download only in a daily one-hour window, which opens in three hours (UTC),
  // and never faster than RATE.
  const window = dailyWindow(3 * 60);
  node = await DemoNode.create({
    dir, deviceId: DEVICE, hubUrl: hub.agentUrl, slotSize: 8 << 20, compatible: COMPATIBLE, trustFile: join(dir, 'root.json'),
    factoryImage: { path: factory, version: '1.0', release: 1 },
    extra: {
      fetch: { windows: [window], maxBytesPerSecond: RATE },
      location: {
        siteId: 'BER-03', siteName: 'Berlin depot, hall 3', address: 'Pariser Platz 1, 10117 Berlin', latitude: 52.51627, longitude: 13.37770,
        accuracyM: 5, surveyedAt: '2026-03-02T10:00:00Z', rack: 'R2', unit: 'U14', gpsd: false,
      },
    },
  });
  say(`node ${DEVICE}: slots A and B are 8 MiB files, boot env is a GRUB env file; factory version 1.0 in slot A`);
  detail(`download window: cron "${window.cron}" UTC for ${window.durationMinutes} min (closed now), rate cap ${mib(RATE)}/s`);
  detail(`health check: reads the self-test result of the image in the running slot`);
  detail(`config: ${node.configPath}`);
  node.onLog(narrateLog);
  node.onBoot(narrateBoot);
  const logged = new Set<string>();
  node.onLog((l) => logged.add(String(l.msg)));
  const failed = () => node?.failure ?? null;
  const until = <T>(what: string, check: () => Promise<T> | T) => waitFor(what, check, { signal, failed });
  await node.powerOn();
  say('node: `outpost run` started');

  chapter('3. The node meets the hub');
  const h = hub;
  const pending = await until('the node to appear at the hub', async () => {
    const n = await h.node(DEVICE);
    return n?.status === 'pending' ? n : null;
  });
  say(`hub: new node ${DEVICE}, key fingerprint ${pending.fingerprint.slice(0, 16)}…, status pending`);
  await hubCtl(h, ['accept', pending.fingerprint.slice(0, 16)], signal);
  say('operator: `hub-ctl accept` the fingerprint');
  const inv = await until('an inventory report at the hub', async () => (await h.node(DEVICE))?.inventory);
  say(`hub: inventory received (${Object.keys(inv).length} facts), e.g. ${pick(inv)}`);
  const loc = await until('a location report at the hub (from the surveyed site in the config)', async () => (await h.node(DEVICE))?.location);
  say(`hub: location ${loc.lat.toFixed(5)}, ${loc.lon.toFixed(5)} from the ${loc.source}${loc.accuracyM !== undefined ? ` (±${loc.accuracyM} m)` : ''}`);

  chapter('4. Release 2.0: download in a window, install, reboot, health checks, commit');
  await offer(good, 'demo-2-0', until);
  await until('the node to wait for its download window', () => logged.has('downloads paused'));
  // The operator does not want to wait for tonight: push a window that opened five minutes ago.
  const pushed = dailyWindow(-5);
  say(`operator: pushes a download window to the node (config.push: cron "${pushed.cron}" UTC, ${pushed.durationMinutes} min, open now)`);
  const [push] = (await hubCtl(h, ['command', '--node', DEVICE, '--type', 'config.push', '--config', JSON.stringify({ windows: [pushed] })], signal)) as Array<{ id: string }>;
  await acked(push!.id, until);
  const first = await follow('demo-2-0', until);
  if (first.result !== 'success') throw new DemoFailure(`2.0 should have committed, the hub got "${first.result}" ${first.code ?? ''} ${first.message ?? ''}`);
  if ((await node.booted()) !== 'B') throw new DemoFailure(`after 2.0 the node should run slot B, it runs ${await node.booted()}`);

  chapter('5. Release 2.1: installs, fails its health check, rolls back on its own');
  await offer(bad, 'demo-2-1', until);
  const second = await follow('demo-2-1', until);
  if (second.result !== 'rolled-back') throw new DemoFailure(`2.1 should have rolled back, the hub got "${second.result}" ${second.code ?? ''}`);
  if ((await node.booted()) !== 'B') throw new DemoFailure(`after the rollback the node should run slot B, it runs ${await node.booted()}`);

  say('node: `outpost status` on the node itself says:');
  for (const line of (await outpost(['status', '--config', node.configPath], signal)).trimEnd().split('\n')) detail(line);

  chapter("6. The hub's view of the node");
  // After the last restart the agent sends a full inventory: the hub sees 2.0 running on B again.
  const final = await until('the inventory of the rolled-back node at the hub', async () => {
    const n = await h.node(DEVICE);
    return n?.inventory?.['custom.rootfs.slot'] === 'B' && n.inventory['custom.rootfs.version'] === '2.0' ? n : null;
  });
  printHubView(final);
  say('demo finished: every step above ran through the real CLI, hub and agent processes');
}

interface Release {
  name: string;
  version: string;
  release: number;
}

type Until = <T>(what: string, check: () => Promise<T> | T) => Promise<NonNullable<T>>;

/** A daily window (UTC) that starts `fromNowMinutes` from now and lasts an hour. */
function dailyWindow(fromNowMinutes: number) {
  const start = new Date(Date.now() + fromNowMinutes * 60_000);
  return { cron: `${start.getUTCMinutes()} ${start.getUTCHours()} * * *`, durationMinutes: 60, timezone: 'UTC' };
}

/** Offers a release through the operator CLI; the node acknowledges it. */
async function offer(r: Release, deploymentId: string, until: Until): Promise<void> {
  say(`operator: \`hub-ctl offer\` ${r.name} to ${DEVICE} (deployment ${deploymentId})`);
  const [issued] = (await hubCtl(hub!, ['offer', '--node', DEVICE, '--bundle', r.name, '--deployment', deploymentId], signal)) as Array<{ id: string }>;
  await acked(issued!.id, until);
}

/** Waits for the node's acknowledgement of a command; anything but "accepted" ends the demo. */
async function acked(commandId: string, until: Until): Promise<void> {
  const ack = await until('the node to acknowledge the command', async () => (await hub!.node(DEVICE))?.acks.find((a) => a.ref === commandId));
  if (ack.result !== 'accepted') throw new DemoFailure(`the node answered with "${ack.result}"${ack.code ? ` (${ack.code})` : ''}`);
  say(`hub: the node acknowledged the ${ack.type}: accepted`);
}

/** Follows a deployment at the hub (progress, then the outcome). */
async function follow(deploymentId: string, until: Until) {
  const h = hub!;
  let shown = '';
  const n = await until(`the outcome of ${deploymentId}`, async () => {
    const n = await h.node(DEVICE);
    const d = n?.deployment;
    if (d?.id !== deploymentId) return null;
    const p = d.progress;
    // Progress as the hub receives it (at most once a second): bytes downloaded, verified and in the slot.
    const what = p?.phase === 'write' || p?.phase === 'download' ? 'downloaded and written' : p?.phase;
    const line = p ? `hub: ${what} ${mib(p.done)} of ${mib(p.total)} (${Math.floor((100 * p.done) / Math.max(1, p.total))}%)` : '';
    if (line && line !== shown) say((shown = line));
    return d.outcome ? n : null;
  });
  const o = n!.deployment!.outcome!;
  say(`hub: outcome of ${deploymentId}: ${o.result}${o.code ? ` (${o.code}${o.message ? `: ${o.message}` : ''})` : ''}`);
  return o;
}

function pick(inv: Record<string, unknown>): string {
  const want = [/^custom\.rootfs\./, /^os\.(distro|release)$/, /^cpu\.cores$/, /^agent\.version$/];
  const keys = want.flatMap((w) => Object.keys(inv).filter((k) => w.test(k)).sort()).slice(0, 5);
  return (keys.length ? keys : Object.keys(inv).slice(0, 4)).map((k) => `${k}=${String(inv[k])}`).join(', ');
}

function printHubView(n: HubNode): void {
  const inv = n.inventory ?? {};
  const d = n.deployment!;
  const o = d.outcome!;
  const rows: Array<[string, string]> = [
    ['node', `${n.deviceId} (key ${n.fingerprint.slice(0, 16)}…), ${n.status}, agent ${n.agentVersion}`],
    ['running', `version ${inv['custom.rootfs.version'] ?? '?'} on slot ${inv['custom.rootfs.slot'] ?? '?'} (inventory)`],
    ['last deployment', `${d.id}: state ${d.state ?? '?'}, outcome ${o.result}${o.code ? ` (${o.code})` : ''}`],
    ['location', n.location ? `${n.location.lat.toFixed(5)}, ${n.location.lon.toFixed(5)} (${n.location.source})${n.location.moved ? ', MOVED' : ''}` : 'none'],
    ['last seen', new Date(n.lastSeen).toISOString()],
  ];
  for (const [k, v] of rows) detail(`${k.padEnd(16)} ${v}`);
}
