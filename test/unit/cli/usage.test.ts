// Every command and subcommand behaves like the tools operators know: --help prints its usage
// (exit 0), an unknown flag or a missing argument is one E_USAGE line plus a hint (exit 2), and
// nothing ever ends in a stack trace or exit 70.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { runCli } from '../../support/cli.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

const cli = runCli;

/** Command path → arguments that leave out something required. */
const COMMANDS: Array<[string[], string[]]> = [
  [['run'], ['--config']],
  [['install'], []],
  [['status'], ['--config']],
  [['commit'], ['--config']],
  [['rollback'], ['--config']],
  [['reboot'], ['--config']],
  [['inventory'], ['--config']],
  [['location'], ['--wait']],
  [['config'], ['--config']],
  [['version'], ['surplus']],
  [['time'], ['--reset-floor']],
  [['bundle'], []],
  [['bundle', 'keygen'], []],
  [['bundle', 'create'], []],
  [['bundle', 'sign'], []],
  [['bundle', 'verify'], []],
  [['bundle', 'inspect'], []],
  [['bundle', 'trust'], []],
  [['bundle', 'trust', 'init'], []],
  [['bundle', 'trust', 'rotate'], []],
  [['bundle', 'trust', 'sign'], []],
  [['bundle', 'trust', 'show'], []],
];

function assertUsageError(r: { code: number; out: string; err: string }, what: string): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.err}`);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 2, `${what}: one error line plus a hint:\n${r.err}`);
  assert.match(lines[0]!, /^E_USAGE: \S/, what);
  assert.match(lines[1]!, /^hint: see `outpost( [a-z]+)* --help`$/, what);
}

function assertNoCrash(r: { code: number; out: string; err: string }, what: string): void {
  assert.notEqual(r.code, 70, `${what}: ${r.err}`);
  assert.doesNotMatch(r.out + r.err, /\n\s+at |E_INTERNAL|TypeError/, what);
}

for (const [path, missing] of COMMANDS) {
  const name = `outpost ${path.join(' ')}`;
  test(`${name}: --help, -h, an unknown flag and a missing argument`, async () => {
    for (const flag of ['--help', '-h']) {
      const help = await cli([...path, flag]);
      assert.equal(help.code, 0, `${name} ${flag}: ${help.err}`);
      assert.match(help.out, /^usage: outpost /, `${name} ${flag}`);
      assert.equal(help.err, '');
    }
    const unknown = await cli([...path, '--no-such-flag']);
    assertUsageError(unknown, `${name} --no-such-flag`);
    assertNoCrash(unknown, name);
    const short = await cli([...path, '-Z']);
    assertUsageError(short, `${name} -Z`);
    const miss = await cli([...path, ...missing]);
    assertUsageError(miss, `${name} ${missing.join(' ')}`);
    assertNoCrash(miss, name);
  });
}

test('outpost --help, help COMMAND, --version, -V; an unknown command is a usage error', async () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await cli(args);
    assert.equal(r.code, 0);
    assert.match(r.out, /^usage: outpost <command>/);
    for (const [path] of COMMANDS.filter(([p]) => p.length === 1)) assert.match(r.out, new RegExp(`^  ${path[0]} `, 'm'));
  }
  const helpInstall = await cli(['help', 'install']);
  assert.equal(helpInstall.code, 0);
  assert.match(helpInstall.out, /^usage: outpost install/);
  for (const args of [['--version'], ['-V'], ['version']]) {
    const r = await cli(args);
    assert.equal(r.code, 0);
    assert.match(r.out, /^outpost \d+\.\d+\.\d+\S* \(node 24\./);
  }
  assertUsageError(await cli([]), 'no command');
  assertUsageError(await cli(['frobnicate']), 'unknown command');
  assertUsageError(await cli(['--frobnicate']), 'unknown option');
  assertUsageError(await cli(['help', 'frobnicate']), 'help for an unknown command');
});

test('through the real entry point: exit 2, no stack trace', () => {
  const node = resolve(ROOT, 'node_modules/.bin/node');
  for (const args of [['status', '--bogus'], ['install'], ['bundle', 'verify', '--trust']]) {
    const r = spawnSync(node, [resolve(ROOT, 'bin/outpost.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stdout, '');
  }
});
