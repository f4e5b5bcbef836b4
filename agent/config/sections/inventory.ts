import { defineSection } from '../schema.ts';

// Placeholder: the owner of agent/inventory/ defines its keys here.
export const inventory = defineSection('inventory', 'What the node reports about itself.', {});
