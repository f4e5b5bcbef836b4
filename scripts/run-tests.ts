// `npm test` after the type check: every suite through node:test, except real-tool suites whose
// tool is missing here (one line each, naming the Debian package), then a summary of what did
// not run and the one command that installs it. The exit status is node:test's: a missing tool
// never fails the run, and a present one never skips anything.
import { spawnSync } from 'node:child_process';
import { globSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { SKIP_NOTES_ENV, SUITES, missingTools, type Need } from '../test/support/require-tool.ts';

const ROOT = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const files = (args.length ? args : globSync('test/**/*.test.ts', { cwd: ROOT })).map((f) => relative(ROOT, resolve(ROOT, f))).sort();

const skipped = new Map<string, Need[]>();
const run: string[] = [];
for (const f of files) {
  const m = missingTools(SUITES[f] ?? []);
  if (!m) run.push(f);
  else {
    skipped.set(f, m.missing);
    process.stdout.write(`﹣ ${f} skipped: ${m.reason}\n`);
  }
}

const notes = mkdtempSync(join(tmpdir(), 'outpost-test-skips-'));
let status = 1;
try {
  // scripts/stress-test.sh raises it (OUTPOST_TEST_CONCURRENCY) to run the suite under load.
  const concurrency = process.env.OUTPOST_TEST_CONCURRENCY ?? '2';
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...run], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, [SKIP_NOTES_ENV]: notes },
  });
  status = r.status ?? 1;
  // Per-test skips noted by requireTools() in the test processes.
  for (const f of readdirSync(notes)) {
    for (const line of readFileSync(join(notes, f), 'utf8').split('\n').filter(Boolean)) {
      const n = JSON.parse(line) as { suite: string; missing: Need[] };
      skipped.set(`${n.suite} (some tests)`, n.missing);
    }
  }
} finally {
  rmSync(notes, { recursive: true, force: true });
}

if (skipped.size > 0) {
  const pkgs = new Set<string>();
  const out = ['', `Real-tool suites that did not run here (${skipped.size}), because their tools are missing:`];
  for (const [suite, missing] of [...skipped].sort()) {
    out.push(`  ${suite}: ${missing.map(([t]) => t).join(', ')}`);
    missing.forEach(([, p]) => pkgs.add(p));
  }
  out.push(`Install them (as root) with: apt-get install -y --no-install-recommends ${[...pkgs].sort().join(' ')}`, '');
  process.stdout.write(out.join('\n'));
} else {
  process.stdout.write('\nEvery real-tool suite ran: no tool is missing.\n');
}
process.exitCode = status;
