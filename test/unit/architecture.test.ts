// Keeps the import rules of the architecture guide true without a linter plugin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    out.push(m[1] ?? m[2]!);
  }
  return out;
}

const rel = (f: string) => relative(ROOT, f).replaceAll('\\', '/');
const target = (from: string, spec: string) => (spec.startsWith('.') ? rel(resolve(dirname(from), spec)) : spec);

const RULES: Array<{ from: RegExp; forbid: RegExp; why: string }> = [
  { from: /^shared\//, forbid: /^(agent\/|scripts\/|ws$|systeminformation$|node-cron$)/, why: 'shared/ is for any hub' },
  { from: /^agent\/update\/machine\.ts$/, forbid: /^(?!agent\/update\/|agent\/platform\/types\.ts)/, why: 'the machine is pure' },
  { from: /^agent\/update\//, forbid: /^(agent\/platform\/(?!types\.ts)|agent\/hub\/|ws$)/, why: 'update uses platform interfaces only' },
  { from: /^agent\/platform\//, forbid: /^agent\/(update|hub|inventory|location)\//, why: 'platform is the bottom layer' },
  { from: /^agent\/hub\//, forbid: /^agent\/update\//, why: 'hub calls an interface from app.ts' },
  { from: /^agent\//, forbid: /^(scripts|test)\//, why: 'the agent never imports tooling' },
];

test('imports follow the architecture table', () => {
  const bad: string[] = [];
  for (const f of [...files(join(ROOT, 'agent')), ...files(join(ROOT, 'shared'))]) {
    for (const spec of imports(f)) {
      const to = target(f, spec);
      for (const r of RULES) if (r.from.test(rel(f)) && r.forbid.test(to)) bad.push(`${rel(f)} → ${to} (${r.why})`);
    }
  }
  assert.deepEqual(bad, []);
});

test('console, process.env and child_process stay in their one place', () => {
  const bad: string[] = [];
  for (const f of [...files(join(ROOT, 'agent')), ...files(join(ROOT, 'shared'))]) {
    const r = rel(f);
    const src = readFileSync(f, 'utf8').replace(/^\s*\/\/.*$/gm, '');
    if (/\bconsole\./.test(src) && !r.startsWith('agent/log/')) bad.push(`${r}: console`);
    if (/process\.env\b/.test(src) && !r.startsWith('agent/config/') && r !== 'agent/platform/exec.ts') bad.push(`${r}: process.env`);
    if (/node:child_process/.test(src) && r !== 'agent/platform/exec.ts') bad.push(`${r}: child_process`);
  }
  assert.deepEqual(bad, []);
});

test('agent version matches package.json', async () => {
  const { AGENT_VERSION } = await import('../../agent/version.ts');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(AGENT_VERSION, pkg.version);
});
