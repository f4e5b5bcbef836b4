// Runs the project's own command-line tools as child processes, the way an operator or a CI job
// would: `outpost …` (bin/outpost.js) and the hub's operator CLI (`outpost-hub ctl`).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { DemoFailure, abortReason } from './wait.ts';

export const REPO = resolve(import.meta.dirname, '../..');
export const OUTPOST = resolve(REPO, 'bin/outpost.js');
const HUB = resolve(REPO, 'bin/outpost-hub.js');

function run(file: string, args: readonly string[], signal: AbortSignal): Promise<string> {
  return new Promise((done, fail) => {
    execFile(process.execPath, [file, ...args], { cwd: REPO, signal, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const what = `${file.slice(REPO.length + 1)} ${args.join(' ')}`;
      if (err && signal.aborted) fail(new DemoFailure(`${abortReason(signal)} while running ${what}`));
      else if (err) fail(new DemoFailure(`${what} failed: ${stderr.trim() || err.message}`));
      else done(stdout);
    });
  });
}

/** `outpost ARGS…`; resolves with its stdout. */
export const outpost = (args: readonly string[], signal: AbortSignal) => run(OUTPOST, args, signal);

/** `outpost-hub ctl --hub API --token T --json ARGS…`; resolves with its parsed JSON answer. */
export async function hubCtl(hub: { apiUrl: string; token: string }, args: readonly string[], signal: AbortSignal): Promise<unknown> {
  return JSON.parse(await run(HUB, ['ctl', '--hub', hub.apiUrl, '--token', hub.token, '--json', ...args], signal));
}
