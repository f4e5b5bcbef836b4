// The binary's V8 flags while its program loads (scripts/build/loading-flags.ts), checked on the
// pinned Node under the binary's own runtime flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../../agent/main.ts';
import { AFTER_LOADING_FLAGS, BALANCER_FLAGS, V8_DEFAULT_BALANCER_FLAGS, defaultFlagsWhileLoading, startedWithBalancer } from '../../../scripts/build/loading-flags.ts';
import { RUNTIME_FLAGS } from '../../../scripts/build/sea.ts';

const MODULE = pathToFileURL(join(import.meta.dirname, '../../../scripts/build/loading-flags.ts')).href;

function node(flags: readonly string[], script: string, env: Record<string, string> = {}): string {
  const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('the binary starts with the balancer flags; only those, untouched by NODE_OPTIONS, count', () => {
  assert.ok(startedWithBalancer(RUNTIME_FLAGS));
  assert.ok(startedWithBalancer(RUNTIME_FLAGS, '--max-old-space-size=200'));
  assert.ok(!startedWithBalancer(RUNTIME_FLAGS.filter((f) => f !== '--memory-balancer')), 'no balancer was set up');
  assert.ok(!startedWithBalancer([...RUNTIME_FLAGS, '--no-memory-balancer']));
  assert.ok(!startedWithBalancer(RUNTIME_FLAGS, '--memory_balancer_c_value=1e-9'));
  assert.ok(!startedWithBalancer([]));
});

test('the defaults set while loading are V8\'s own', () => {
  const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
  for (const flag of V8_DEFAULT_BALANCER_FLAGS) {
    const name = flag.replace(/^--(no-)?/, '').replace(/=.*/, '');
    const block = options.slice(options.indexOf(`  --${name} (`));
    assert.match(block.split('\n')[1] ?? '', new RegExp(`default: ${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`), name);
  }
});

test('while loading, V8 accepts a code cache made under default flags, as Node\'s built-in one is', () => {
  const source = 'function f(a) { return [a, a * 2].join(); } f(3);';
  const cache = node([], `import { Script } from 'node:vm'; process.stdout.write(Buffer.from(new Script(process.env.SRC).createCachedData()).toString('base64'));`, { SRC: source });
  const seen = JSON.parse(node(RUNTIME_FLAGS, `
    import { Script } from 'node:vm';
    import { defaultFlagsWhileLoading } from ${JSON.stringify(MODULE)};
    // a new name each time: V8 would otherwise find the script compiled already and read no cache
    let n = 0;
    const rejected = () => new Script(process.env.SRC, { filename: \`s\${n++}.js\`, cachedData: Buffer.from(process.env.CACHE, 'base64') }).cachedDataRejected;
    const before = rejected();
    const loaded = defaultFlagsWhileLoading();
    const whileLoading = rejected();
    loaded();
    console.log(JSON.stringify({ before, whileLoading, after: rejected() }));
  `, { SRC: source, CACHE: cache })) as Record<string, boolean>;
  assert.deepEqual(seen, { before: true, whileLoading: false, after: true });
});

test('the balancer survives being set aside and back across many full collections, and works after', () => {
  // Full collections in both states, forced and from allocation; the balancer says what it does.
  const out = node([...RUNTIME_FLAGS, '--expose-gc', '--trace-memory-balancer'], `
    import { defaultFlagsWhileLoading } from ${JSON.stringify(MODULE)};
    let keep = [];
    const churn = (n) => { for (let i = 0; i < n; i++) { keep.push({ s: 'x'.repeat(40) + i, a: [i] }); if (keep.length > 60000) keep = keep.slice(30000); } };
    for (let round = 0; round < 30; round++) {
      const loaded = defaultFlagsWhileLoading();
      console.log('LOADING');
      churn(20000); globalThis.gc();
      console.log('LOADED');
      loaded();
      churn(20000); globalThis.gc();
    }
    console.log('DONE');
  `);
  assert.match(out, /DONE\n$/);
  const whileLoading = [...out.matchAll(/LOADING\n([\s\S]*?)LOADED\n/g)].map((m) => m[1]!);
  assert.equal(whileLoading.length, 30);
  assert.ok(whileLoading.every((s) => !s.includes('MemoryBalancer:')), 'the balancer is not consulted while its flag is off');
  const after = out.split('LOADED\n').slice(1);
  assert.ok(after.every((s) => s.includes('MemoryBalancer:')), 'it sets the limit again at each full collection once set back');
  assert.deepEqual(BALANCER_FLAGS.filter((f) => RUNTIME_FLAGS.includes(f)), [...BALANCER_FLAGS]);
});

test('V8\'s defaults first; once loaded, the balancer\'s flags and the after-loading ones, once', () => {
  const set: string[] = [];
  const loaded = defaultFlagsWhileLoading((f) => set.push(f));
  assert.deepEqual(set, [...V8_DEFAULT_BALANCER_FLAGS]);
  loaded();
  loaded();
  assert.deepEqual(set, [...V8_DEFAULT_BALANCER_FLAGS, ...BALANCER_FLAGS, ...AFTER_LOADING_FLAGS]);
  assert.deepEqual([...AFTER_LOADING_FLAGS], ['--bytecode-old-age=2']);
});

test('main() says when the command has loaded, once and before it runs', async () => {
  const seen: string[] = [];
  const sink = (what: string) => new Writable({ write: (_chunk, _enc, done) => (seen.push(what), done()) });
  assert.equal(await main(['version'], { out: sink('output'), err: sink('error'), isTTY: false }, () => seen.push('loaded')), 0);
  assert.deepEqual(seen, ['loaded', 'output']);
});
