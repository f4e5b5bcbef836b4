// Public surface of the protocol module for hubs and the agent.
export * from './limits.ts';
export type * from './messages.ts';
export { REPORT_TYPES, COMMAND_TYPES } from './messages.ts';
export * from './codec.ts';
