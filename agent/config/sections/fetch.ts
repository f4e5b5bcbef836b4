import { defineSection } from '../schema.ts';

// Placeholder: the owner of agent/fetch/ defines its keys here.
export const fetch = defineSection('fetch', 'Downloads, bandwidth windows and budgets.', {});
