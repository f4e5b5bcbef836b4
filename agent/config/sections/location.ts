import { defineSection } from '../schema.ts';

// Placeholder: the owner of agent/location/ defines its keys here.
export const location = defineSection('location', 'Where the node is: survey data and GNSS.', {});
