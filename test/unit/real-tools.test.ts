// Every suite that runs a real tool is known to the skip machinery (test/support/require-tool.ts),
// so a fresh machine without the tool skips it with the package named instead of failing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { SUITES, missingTools, present } from '../support/require-tool.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TOOLS = [...new Set(Object.values(SUITES).flat().map(([t]) => t).filter((t) => !t.startsWith('/')))];
const PER_TEST = ['grub-script-check', 'systemd-analyze'];
/** Files that import a helper able to spawn the tool but never call that part of it. */
const NOT_USED: Record<string, string[]> = {
  'test/binary/run.test.ts': ['qemu-aarch64-static'],
  'test/binary/x64.test.ts': ['qemu-aarch64-static'],
};

/** A test file and the local helpers it imports (one level deep: that is where spawns live). */
function sourceOf(file: string): string {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const helpers = [...text.matchAll(/from '(\.{1,2}\/[^']+\.ts)'/g)]
    .map((m) => resolve(ROOT, dirname(file), m[1]!))
    .filter((p) => p.startsWith(join(ROOT, 'test')));
  return [text, ...helpers.map((p) => readFileSync(p, 'utf8'))].join('\n');
}

test('every test file that spawns a real tool is listed in SUITES or uses requireTool', () => {
  const unlisted: string[] = [];
  for (const file of globSync('test/**/*.test.ts', { cwd: ROOT }).sort()) {
    const src = sourceOf(file);
    for (const tool of [...TOOLS, ...PER_TEST]) {
      const spawned = new RegExp(`(spawn|spawnSync|execFile|execFileSync|runCommand|run)\\('${tool.replace(/[.]/g, '\\.')}'`).test(src);
      if (!spawned || NOT_USED[file]?.includes(tool)) continue;
      const listed = (SUITES[file] ?? []).some(([t]) => t === tool);
      const perTest = new RegExp(`requireTools?\\([^)]*'${tool}'`).test(src);
      if (!listed && !perTest) unlisted.push(`${file}: ${tool}`);
    }
  }
  assert.deepEqual(unlisted, []);
});

test('every listed suite exists, and a tool that is present is never reported missing', () => {
  for (const file of Object.keys(SUITES)) assert.ok(globSync(file, { cwd: ROOT }).length === 1, `${file} does not exist`);
  assert.equal(missingTools([['sh', 'dash']]), null);
  assert.ok(present('/bin/sh'));
  const m = missingTools([['sh', 'dash'], ['outpost-no-such-tool', 'outpost-pkg']]);
  assert.equal(m?.reason, 'needs outpost-no-such-tool (Debian package outpost-pkg)');
  assert.equal(relative(ROOT, ROOT), '');
});
