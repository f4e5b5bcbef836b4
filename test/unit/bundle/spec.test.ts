// Keeps the written spec and the operator doc honest against the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { encodeHeader } from '../../../shared/bundle/tar-header.ts';
import { bundleLayout } from '../../../shared/bundle/layout.ts';
import { validateManifest } from '../../../shared/bundle/manifest.ts';
import { MANIFEST_SIG_CONTEXT, TRUST_SIG_CONTEXT } from '../../../shared/bundle/format.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const SPEC = readFileSync(join(ROOT, 'shared/BUNDLE-SPEC.md'), 'utf8');
const DOC = readFileSync(join(ROOT, 'docs/bundles.md'), 'utf8');

test('the header test vector in the spec is what the writer produces', () => {
  const m = /```hex-header (\S+) (\d+)\n([0-9a-f\n]+)```/.exec(SPEC);
  assert.ok(m, 'test vector block not found');
  const hex = m[3]!.replace(/\n/g, '');
  assert.equal(hex, encodeHeader(m[1]!, Number(m[2])).toString('hex'));
});

test('the worked layout example in the spec matches the layout code', () => {
  const manifest = validateManifest({
    format: 1, version: '1', release: 1, compatible: ['x'], created: '2026-11-21T12:00:00Z',
    payloads: [{ name: 'rootfs.img', slotClass: 'rootfs', size: 3145851, sha256: 'a'.repeat(64), blockSize: 65536, blocks: 49, indexSha256: 'b'.repeat(64) }],
  });
  const l = bundleLayout(manifest, 476);
  assert.deepEqual(l.entries.map((e) => e.headerOffset), [0, 1024, 5632, 8192]);
  assert.equal(l.headSize, 8704);
  assert.equal(l.totalSize, 3155968);
  for (const n of ['1,024', '5,632', '8,192', '8,704', '3,155,968', '1,568']) assert.ok(SPEC.includes(n), n);
});

test('the signing contexts in the spec are the ones the code uses', () => {
  assert.ok(SPEC.includes(JSON.stringify(MANIFEST_SIG_CONTEXT)) && MANIFEST_SIG_CONTEXT.length === 20);
  assert.ok(SPEC.includes(JSON.stringify(TRUST_SIG_CONTEXT)));
});

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every error code the bundle code can throw is documented', () => {
  const sources = [...files(join(ROOT, 'shared/bundle')), ...files(join(ROOT, 'agent/bundle')), join(ROOT, 'agent/cli/bundle.ts')];
  const codes = new Set<string>();
  for (const f of sources) for (const m of readFileSync(f, 'utf8').matchAll(/'(E_[A-Z_]+)'/g)) codes.add(m[1]!);
  assert.ok(codes.size > 30);
  const missing = [...codes].filter((c) => !DOC.includes(`\`${c}\``));
  assert.deepEqual(missing, []);
});
