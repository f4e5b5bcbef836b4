// The only module that spawns processes. No shell: file + argv, with timeout and AbortSignal.
import type { spawn as Spawn } from 'node:child_process';
import type { CommandOptions, CommandResult, CommandRunner } from './types.ts';
import { OutpostError } from '../../shared/errors.ts';

/**
 * node:child_process (with net, dgram and their streams) loads at the first command, not with
 * this module: `outpost status` and the daemon's start until the hub link is up run none.
 */
let spawn: typeof Spawn | undefined;

export const processRunner: CommandRunner = { run: runCommand };

export function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const max = opts.maxOutputBytes ?? 1 << 20;
  return new Promise((resolve, reject) => {
    spawn ??= process.getBuiltinModule('node:child_process').spawn;
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      // No input: /dev/null (EOF at once, as an empty pipe would give, without a pipe to set up).
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // Own process group, so a timeout or abort also kills what the command started
      // (a health or inventory script's children would otherwise hold the pipes open).
      detached: true,
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    let aborted = false;
    if (opts.signal?.aborted) queueMicrotask(onAbort);
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            killGroup();
          }, opts.timeoutMs)
        : undefined;
    child.stdout!.on('data', (b: Buffer) => {
      if (outLen < max) out.push(b.subarray(0, max - outLen));
      outLen += b.length;
    });
    child.stderr!.on('data', (b: Buffer) => {
      if (errLen < max) err.push(b.subarray(0, max - errLen));
      errLen += b.length;
    });
    child.stdin?.on('error', () => {}); // child may exit before reading its input
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new OutpostError('E_EXEC', `cannot run ${file}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (aborted) {
        reject(new OutpostError('E_ABORTED', `${file} aborted`));
        return;
      }
      resolve({
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
