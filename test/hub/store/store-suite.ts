// The one store test suite, run against every store implementation (sqlite.test.ts,
// postgres.test.ts): the same calls must give the same answers on both.
import { nodeTests } from './suite-nodes.ts';
import { reportTests } from './suite-reports.ts';
import { commandTests } from './suite-commands.ts';
import { miscTests } from './suite-misc.ts';
import type { StoreHarness } from './suite-helpers.ts';

export type { StoreHarness, TestDb } from './suite-helpers.ts';

export function storeSuite(h: StoreHarness): void {
  nodeTests(h);
  reportTests(h);
  commandTests(h);
  miscTests(h);
}
