import { defineSection } from '../schema.ts';

// Placeholder: the owner of agent/bundle/ defines its keys here.
export const bundle = defineSection('bundle', 'Trust store, anti-rollback floor and compatible hardware.', {});
