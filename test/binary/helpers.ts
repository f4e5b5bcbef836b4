// Shared by the binary tests: build dist/ if it is stale, run a built binary, and turn the
// agent's "not built yet" answer (E_NOT_IMPLEMENTED, exit 3) into a visible skip.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';

export const ROOT = resolve(import.meta.dirname, '../..');
export const X64 = join(ROOT, 'dist', 'outpost');
export const ARM64 = join(ROOT, 'dist', 'outpost-arm64');
export const QEMU_LD_PREFIX = '/usr/aarch64-linux-gnu';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs scripts/build.ts for the given architectures. It is incremental (about a second when
 * dist/ matches the sources) and takes a lock, so test files running in parallel share one build.
 */
export function ensureBuilt(...arches: Array<'x64' | 'arm64'>): void {
  const args = [join(ROOT, 'scripts', 'build.ts'), '--no-compress', ...arches.flatMap((a) => ['--arch', a])];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 5 * 60_000 });
  if (r.status !== 0) throw new Error(`build failed (${r.status ?? r.signal}):\n${r.stderr}${r.stdout}`);
}

function result(r: ReturnType<typeof spawnSync>): Run {
  if (r.error) throw r.error;
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function runX64(args: readonly string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  return result(spawnSync(X64, args, { cwd: opts.cwd, input: opts.input, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: 60_000 }));
}

/** The arm64 binary under user-mode emulation; binfmt is not registered, so qemu is named. */
export function runArm64(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  return result(
    spawnSync('qemu-aarch64-static', [ARM64, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env, QEMU_LD_PREFIX },
      encoding: 'utf8',
      timeout: 120_000,
    }),
  );
}

/** True (and the test marked skipped) when the binary says this command is not implemented yet. */
export function notBuiltYet(t: TestContext, r: Run, what: string): boolean {
  if (r.code === 3 && r.stderr.startsWith('E_NOT_IMPLEMENTED')) {
    t.skip(`${what} not built yet`);
    return true;
  }
  return false;
}

/** Fails with the binary's own output, which is what one needs to see when it misbehaves. */
export function explain(r: Run): string {
  return `exit ${r.code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
}

/** Finds the private (0600) and public key files keygen wrote, whatever it names them. */
function keyFiles(dir: string): { priv: string; pub: string } {
  const files = readdirSync(dir).map((n) => join(dir, n));
  const priv = files.find((f) => (statSync(f).mode & 0o077) === 0);
  const pub = files.find((f) => (statSync(f).mode & 0o077) !== 0);
  assert.ok(priv && pub, `keygen wrote ${files.join(', ')}`);
  return { priv, pub };
}

export const COMPATIBLE = 'outpost-ci-board';

export interface SignedBundle {
  bundle: string;
  image: string;
  /** Directory holding only the public key (the node's trust store). */
  trust: string;
  priv: string;
}

/**
 * keygen + create with the x86-64 binary in `dir`: a 3 MiB random image, release `release`.
 * Null (and the test skipped) while `outpost bundle` is not implemented.
 */
export function makeSignedBundle(t: TestContext, dir: string, release = 7): SignedBundle | null {
  const keys = join(dir, 'keys');
  const kg = runX64(['bundle', 'keygen', '--out', keys, '--id', 'ci-1']);
  if (notBuiltYet(t, kg, 'outpost bundle')) return null;
  assert.equal(kg.code, 0, explain(kg));
  const { priv, pub } = keyFiles(keys);
  const trust = join(dir, 'trust');
  mkdirSync(trust);
  copyFileSync(pub, join(trust, 'ci-1.pub'));
  const image = join(dir, 'rootfs.img');
  writeFileSync(image, randomBytes(3 * 1024 * 1024 + 123));
  const bundle = join(dir, `release-${release}.bundle`);
  const create = runX64([
    'bundle', 'create', '--image', image, '--version', `1.0.${release}`, '--release', String(release),
    '--compatible', COMPATIBLE, '--key', priv, '--out', bundle,
  ]);
  assert.equal(create.code, 0, explain(create));
  return { bundle, image, trust, priv };
}
