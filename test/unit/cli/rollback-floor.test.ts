// `outpost rollback` with no deployment in progress says what it will do and refuses to boot a
// release below the anti-rollback floor unless --force. A real node on file slots, driven only
// through the CLI: release 1 committed on B, release 2 committed on A (floor 2), then rollback.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrubEnv } from '../../../agent/platform/bootenv/grub-env.ts';
import { runCli } from '../../support/cli.ts';
import { fileNodeConfig, makeFileNode } from '../../support/file-node.ts';

const root = await mkdtemp(join(tmpdir(), 'rollback-floor-'));
after(() => rm(root, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args);

async function boot(slot: string): Promise<void> {
  await writeFile(join(root, 'run/booted-slot'), `${slot}\n`);
}

test('rollback below the floor is refused without --force, done with it, and says what it does', { timeout: 180_000 }, async () => {
  await makeFileNode(root);
  await mkdir(join(root, 'keys'));
  const config = join(root, 'config.json');
  await writeFile(config, JSON.stringify(fileNodeConfig(root)));
  assert.equal((await cli('bundle', 'keygen', '--out', join(root, 'keys'), '--id', 'k1')).code, 0);
  await copyFile(join(root, 'keys/k1.pub'), join(root, 'trust/k1.pub'));
  // Release 1 onto B, release 2 onto A: each installed, "rebooted" into, resumed and committed.
  for (const [release, target] of [[1, 'B'], [2, 'A']] as const) {
    const image = join(root, `r${release}.img`);
    await writeFile(image, randomBytes(1 << 20));
    const bundle = join(root, `r${release}.bundle`);
    const made = await cli('bundle', 'create', '--image', image, '--version', `1.${release}`, '--release', String(release), '--compatible', 'board', '--key', join(root, 'keys/k1.key'), '--out', bundle);
    assert.equal(made.code, 0, made.err);
    const inst = await cli('install', bundle, '--config', config);
    assert.equal(inst.code, 0, inst.err);
    await boot(target);
    const resumed = await cli('install', '--resume', '--config', config);
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.out, /committed/);
  }
  const refused = await cli('rollback', '--config', config);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /^E_ROLLBACK_FLOOR: slot B holds 1\.1 \(release 1\), below the anti-rollback floor 2; nothing was changed\. `outpost rollback --force` boots it anyway\n$/);
  const env = new GrubEnv({ path: join(root, 'boot/grubenv') });
  assert.equal((await env.read()).BOOT_ORDER?.split(' ')[0], 'A', 'nothing changed');
  const forced = await cli('rollback', '--force', '--config', config);
  assert.equal(forced.code, 0, forced.err);
  assert.match(forced.out, /^switching to slot B: 1\.1 \(release 1\), below the floor 2 \(--force\); it becomes primary and the node reboots\n/);
  assert.equal((await env.read()).BOOT_ORDER?.split(' ')[0], 'B', 'B is primary now');
});
