// Entry of the single binary. esbuild turns it into CommonJS (SEA mains must be CJS) and inlines
// every module agent/main.ts reaches, including its lazily imported commands.
import { main } from '../../agent/main.ts';

// `outpost config --doc | head` closes the pipe early: end quietly like any Unix tool instead of
// dumping an unhandled EPIPE stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // main() reports its own errors; this only catches a failure to even start.
    process.stderr.write(`E_INTERNAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
