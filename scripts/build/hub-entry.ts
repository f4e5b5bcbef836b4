// Entry of the hub's single binary (`outpost-hub`): like sea-entry.ts for the agent, bundled by
// esbuild into CommonJS with everything hub/main.ts reaches.
import { main } from '../../hub/main.ts';

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
    process.stderr.write(`E_INTERNAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
