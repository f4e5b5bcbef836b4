export { OutpostError as AgentError, isOutpostError as isAgentError, wrapError } from '../../shared/errors.ts';
