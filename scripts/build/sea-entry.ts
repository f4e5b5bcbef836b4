// The agent's program, as its single binary carries it: esbuild turns it into CommonJS and inlines
// every module agent/main.ts reaches, including its lazily imported commands. It runs nothing when
// loaded: the binary's main (sea-main.ts) calls start(); the build's code-cache training
// (train-code-cache.ts) calls main() for several commands in one process.
import { main } from '../../agent/main.ts';
import { runEntry } from './run-entry.ts';

export { main };

export function start(loaded?: () => void): void {
  runEntry(() => main(process.argv.slice(2), undefined, loaded));
}
