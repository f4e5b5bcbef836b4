import { defineSection, field } from '../schema.ts';

export const core = defineSection('core', 'Where the agent keeps its state and how it logs.', {
  root: field.string(
    'Prefix for every absolute path in this file: "/" on a device, a scratch directory in tests and the demo.',
    '/',
  ),
  stateDir: field.string('Journal, download records, outbox, identity and floors live here.', '/var/lib/outpost'),
  logLevel: field.oneOf('Lowest level written to the JSON-lines log.', ['debug', 'info', 'warn', 'error'] as const, 'info'),
});
