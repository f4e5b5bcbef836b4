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
  { from: /^agent\/hub\//, forbid: /^agent\/(update|fetch|net|app)\//, why: 'hub calls an interface from app/; its transport comes built' },
  { from: /^agent\/window\//, forbid: /^agent\/(?!window\/|lib\/|log\/)/, why: 'window maths is below fetch, update and config' },
  { from: /^agent\/net\//, forbid: /^agent\/(?!net\/|lib\/|log\/)/, why: 'net is the one outbound network layer, below hub and fetch' },
  { from: /^agent\/config\//, forbid: /^agent\/(update|fetch|hub|app|cli)\//, why: 'config is read by everyone and reads no one above it' },
  { from: /^agent\/fetch\//, forbid: /^agent\/(update|hub|app|cli)\//, why: 'update uses fetch, never the other way' },
  { from: /^agent\/(?!app\/|cli\/|bundle\/cli\/|main\.ts)/, forbid: /^agent\/app\//, why: 'only the commands use the composition root' },
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

// Layers, bottom first: an import goes down (or stays in its folder), never back up. Folders on
// one layer do not import each other either, so no cycle can form between folders.
const LAYERS: readonly (readonly string[])[] = [
  ['lib', 'log', 'version.ts'],
  ['platform', 'identity', 'net', 'window'],
  ['time', 'bundle'],
  ['config'],
  ['fetch', 'inventory', 'location'],
  ['update', 'hub'],
  ['app'],
  ['cli'],
  ['main.ts'],
];

function layerOf(path: string): { folder: string; rank: number } | null {
  if (!path.startsWith('agent/')) return null;
  // The bundle subcommands are commands: they sit with cli/.
  const folder = path.startsWith('agent/bundle/cli/') ? 'cli' : path.split('/')[1]!;
  const rank = LAYERS.findIndex((l) => l.includes(folder));
  return { folder, rank };
}

test('no import runs back up a layer (agent/ folders form no cycle)', () => {
  const bad: string[] = [];
  for (const f of files(join(ROOT, 'agent'))) {
    const from = layerOf(rel(f))!;
    if (from.rank < 0) bad.push(`${rel(f)}: folder ${from.folder} has no layer in LAYERS`);
    for (const spec of imports(f)) {
      const to = layerOf(target(f, spec));
      if (!to || to.folder === from.folder) continue;
      if (to.rank >= from.rank) bad.push(`${rel(f)} → ${target(f, spec)} (${from.folder} on layer ${from.rank}, ${to.folder} on ${to.rank})`);
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
