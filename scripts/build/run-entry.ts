// Runs a program's main() as the process of a single binary: main's result becomes the exit code.
// A main that never settles once nothing is left to wait for (a promise no event will resolve: a
// bug) ends a CommonJS process quietly with code 0, which a script or a unit manager reads as
// success: a dev build ended an install that way half-way through the slot. So the code is 70
// (internal error) until main settles, and saying so on stderr.
import { EXIT } from '../../agent/cli/io.ts';

export function runEntry(main: () => Promise<number>): void {
  let done = false;
  // `outpost config --doc | head` closes the pipe early: end quietly like any Unix tool instead of
  // dumping an unhandled EPIPE stack.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(done ? (process.exitCode ?? 0) : 0);
    });
  }
  process.exitCode = EXIT.internal;
  process.on('exit', (code) => {
    if (!done && code === EXIT.internal) process.stderr.write('E_INTERNAL: the command stopped before it finished (nothing was left to wait for)\n');
  });
  main().then(
    (code) => {
      done = true;
      process.exitCode = code;
    },
    (err: unknown) => {
      // main() reports its own errors; this only catches a failure to even start.
      done = true;
      process.stderr.write(`E_INTERNAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT.internal;
    },
  );
}
