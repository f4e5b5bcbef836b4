// The docs are tested: every shell block in README.md and docs/*.md carries a doc-test marker;
// "run" blocks are executed in a temp directory exactly as written (an `outpost`/`npx outpost`
// on PATH runs this checkout's CLI, `sudo` runs its command as the current user), and every
// `outpost …` line of any block or synopsis only uses flags its `--help` lists, so a renamed flag
// breaks the build.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../agent/main.ts';
import { ROOT, blocksOf, commandLines, docFiles, type DocBlock } from './doc-blocks.ts';
import { requireTools } from '../support/require-tool.ts';

const NODE = process.execPath;
const OUTPOST = join(ROOT, 'bin', 'outpost.js');
const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console']);
const blocks = docFiles().flatMap(blocksOf);
const tmp = mkdtempSync(join(tmpdir(), 'outpost-doc-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Shims: the checkout's CLI as `outpost` and `npx outpost`; `sudo` as a no-op prefix. */
const bin = join(tmp, 'bin');
mkdirSync(bin);
const shim = (name: string, body: string) => {
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
};
shim('outpost', `exec "${NODE}" "${OUTPOST}" "$@"`);
// `npx node …` is how the docs run scripts with the pinned runtime; `npx outpost …` the CLI.
shim('npx', `case "$1" in\n  outpost) shift; exec "${NODE}" "${OUTPOST}" "$@" ;;\n  node) shift; exec "${NODE}" "$@" ;;\nesac\necho "doc test: only npx outpost and npx node are shimmed" >&2; exit 127`);
shim('sudo', 'exec "$@"');

/** Named set-ups a block may ask for; they stand for what the surrounding prose says exists. */
const FIXTURES: Record<string, string> = {
  // "an image your build produced"
  image: 'mkdir -p build\nhead -c 3000000 /dev/urandom > rootfs.img\ncp rootfs.img build/rootfs.img',
  // "current store: root.json (version 1), 2 of 3 keys", one of them offline
  'trust-2of3': [
    'outpost bundle keygen --out keys --id ci-2026a >/dev/null',
    'outpost bundle keygen --out keys --id release-mgr >/dev/null',
    'outpost bundle keygen --out offline --id offline-2 >/dev/null',
    'mkdir -p trust',
    'outpost bundle trust init --key keys/ci-2026a.pub --key keys/release-mgr.pub --key offline/offline-2.pub --threshold 2 --out trust/root.json >/dev/null',
  ].join('\n'),
};

function where(b: DocBlock): string {
  return `${b.file}:${b.line}`;
}

test('every shell block in README.md and docs/ says whether the docs test runs it', () => {
  const unmarked = blocks.filter((b) => SHELL_LANGS.has(b.lang) && b.marker === null).map(where);
  assert.deepEqual(unmarked, [], 'put <!-- doc-test: run --> or <!-- doc-test: skip: reason --> on the line before the block');
  for (const b of blocks) {
    if (b.marker?.kind === 'skip') assert.ok(b.marker.reason.length >= 10, `${where(b)}: a skip needs its reason`);
    if (b.marker?.kind === 'run' && b.marker.fixture) assert.ok(b.marker.fixture in FIXTURES, `${where(b)}: unknown fixture ${b.marker.fixture}`);
  }
});

// ---- flags -----------------------------------------------------------------------------------

const helpCache = new Map<string, string | null>();
/** `outpost PATH --help` through the CLI entry in this process (a child per command is slow). */
async function help(path: string[]): Promise<string | null> {
  const key = path.join(' ');
  if (!helpCache.has(key)) {
    const out = new PassThrough();
    let text = '';
    out.on('data', (b) => (text += b));
    const code = await main([...path, '--help'], { out, err: new PassThrough(), isTTY: false });
    helpCache.set(key, code === 0 && text.startsWith('usage: outpost') ? text : null);
  }
  return helpCache.get(key)!;
}

/** The outpost invocations of a block or synopsis line: words after `outpost`, quotes dropped. */
function outpostCalls(text: string): string[][] {
  const calls: string[][] = [];
  for (const line of commandLines(text)) {
    for (const part of line.split(/&&|\|\||;|\|(?=\s)/)) {
      const words = part.replace(/'[^']*'|"[^"]*"/g, 'ARG').trim().split(/\s+/);
      const at = words.findIndex((w, i) => w === 'outpost' && (i === 0 || ['npx', 'sudo'].includes(words[i - 1]!)));
      if (at >= 0) calls.push(words.slice(at + 1));
    }
  }
  return calls;
}

test('every outpost command in the docs uses only flags its --help lists', async () => {
  const problems: string[] = [];
  let checked = 0;
  for (const b of blocks.filter((x) => SHELL_LANGS.has(x.lang) || x.lang === '')) {
    for (const words of outpostCalls(b.text)) {
      // The command path is the leading plain words; a positional that looks like one is tried off.
      let path = words.slice(0, words.findIndex((w) => !/^[a-z]+$/.test(w)) >>> 0).slice(0, 3);
      while (path.length > 0 && (await help(path)) === null) path = path.slice(0, -1);
      const text = path.length === 0 ? null : await help(path);
      if (text === null || path.length === 0) {
        problems.push(`${where(b)}: "outpost ${words.join(' ')}": no such command`);
        continue;
      }
      for (const w of words) {
        const flag = /^\[?(--[a-z][a-z0-9-]*)/.exec(w)?.[1];
        if (!flag || flag === '--help') continue;
        checked++;
        if (!new RegExp(`${flag}(?![a-z0-9-])`).test(text)) problems.push(`${where(b)}: outpost ${path.join(' ')} has no ${flag}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(checked > 20, `checked ${checked} flags`);
});

test('packaging/install.sh lines use only the options it knows', () => {
  const usage = spawnSync('sh', [join(ROOT, 'packaging', 'install.sh'), '--help'], { encoding: 'utf8' }).stdout;
  const problems: string[] = [];
  for (const b of blocks.filter((x) => SHELL_LANGS.has(x.lang))) {
    for (const line of commandLines(b.text)) {
      const m = /install\.sh((?:\s+\S+)*)/.exec(line);
      if (!m) continue;
      const words = m[1]!.trim().split(/\s+/).filter(Boolean);
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        if (w.startsWith('--')) {
          if (!new RegExp(`${w}(?![a-z-])`).test(usage)) problems.push(`${where(b)}: install.sh has no ${w}`);
          if (w === '--binary' || w === '--root') i++; // their value
        } else problems.push(`${where(b)}: install.sh takes no positional argument ("${w}")`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

// ---- run blocks ------------------------------------------------------------------------------

let commandsRun = 0;
const runBlocks = blocks.filter((b) => b.marker?.kind === 'run');

for (const b of runBlocks) {
  const marker = b.marker as Extract<DocBlock['marker'], { kind: 'run' }>;
  test(`${where(b)} runs as written`, { skip: requireTools(...marker.needs), timeout: 300_000 }, () => {
    const dir = join(tmp, `${b.file.replace(/\W/g, '_')}-${b.line}`);
    mkdirSync(dir);
    cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
    const script = ['set -e', marker.fixture ? FIXTURES[marker.fixture]! : '', b.text].join('\n');
    writeFileSync(join(dir, 'doc-block.sh'), script);
    const r = spawnSync('bash', ['doc-block.sh'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 280_000,
      env: { ...process.env, PATH: `${bin}:${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, EDITOR: 'true', HOME: dir },
    });
    assert.equal(r.status, 0, `${where(b)} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /E_INTERNAL|\n\s+at /);
    commandsRun += commandLines(b.text).length;
  });
}

test('the docs test runs the documented commands', { skip: runBlocks.length === 0 && 'no run blocks' }, (t) => {
  // Runs last (tests of one file run in order): the count is reported with the results.
  t.diagnostic(`documented commands executed: ${commandsRun} in ${runBlocks.length} blocks`);
  assert.ok(runBlocks.length >= 4, `${runBlocks.length} run blocks`);
});
