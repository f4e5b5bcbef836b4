import { defineSection } from '../schema.ts';

// Placeholder: the owner of agent/hub/ defines its keys here.
export const hub = defineSection('hub', 'The outbound websocket link to the hub.', {});
