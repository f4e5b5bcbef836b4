import { defineSection } from '../schema.ts';

// Placeholder: the owner of agent/update/ defines its keys here.
export const update = defineSection('update', 'Slots, boot environment, install ordering and health checks.', {});
