import { defineSection, field } from '../schema.ts';

/** The schedule's default; `outpost run` checks any other value with node-cron (agent/config/checks.ts). */
export const DEFAULT_INVENTORY_SCHEDULE = '0 * * * *';

export const inventory = defineSection('inventory', 'What the node reports about itself (see docs/inventory-location.md).', {
  schedule: field.string(
    'Cron expression (UTC; 5 or 6 fields) for checking the inventory and sending a diff when it changed.',
    DEFAULT_INVENTORY_SCHEDULE,
  ),
  randomDelayS: field.number('Each scheduled check waits a random 0..N seconds, so a fleet does not report in lockstep.', 300, { min: 0, max: 3600, integer: true }),
  callTimeoutMs: field.number('Timeout per hardware/OS query; a slow one is reported in `errors`, not waited for.', 10_000, { min: 100, max: 120_000, integer: true }),
  scriptsDir: field.custom<string | null>(
    'string | null',
    'Directory of custom inventory scripts (every executable runs; its `key=value` lines become `custom.<script>.<key>`). Under core.root; null: none.',
    '/etc/outpost/inventory.d',
    (v) => {
      if (v === null || typeof v === 'string') return v;
      throw new Error(`expected a string or null, got ${JSON.stringify(v)}`);
    },
  ),
  scriptTimeoutMs: field.number('Timeout per custom inventory script.', 5_000, { min: 100, max: 120_000, integer: true }),
});
