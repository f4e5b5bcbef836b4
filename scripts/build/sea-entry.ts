// Entry of the single binary. esbuild turns it into CommonJS (SEA mains must be CJS) and inlines
// every module agent/main.ts reaches, including its lazily imported commands.
import { main } from '../../agent/main.ts';
import { runEntry } from './run-entry.ts';

runEntry(() => main(process.argv.slice(2)));
