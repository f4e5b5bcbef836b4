// Public surface of the protocol module for hubs and the agent.
export * from './limits.ts';
export type * from './messages.ts';
export { REPORT_TYPES, COMMAND_TYPES, OUTCOME_RESULTS } from './messages.ts';
export * from './codec.ts';
