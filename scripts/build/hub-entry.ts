// Entry of the hub's single binary (`outpost-hub`): like sea-entry.ts for the agent, bundled by
// esbuild into CommonJS with everything hub/main.ts reaches.
import { main } from '../../hub/main.ts';
import { runEntry } from './run-entry.ts';

runEntry(() => main(process.argv.slice(2)));
