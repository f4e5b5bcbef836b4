// What a hub push may do to the post-boot health checks: select provisioned checks by name and
// tune their timeout, nothing more. It never carries a command (a hub without the signing key
// must not be able to run code on a node), and the built-ins ("hub-reachable") always run.
import { AgentError } from '../lib/errors.ts';
import type { PushedHealthCheck } from '../../shared/protocol/messages.ts';

/** Checks the agent itself provides; a push may name them, and cannot switch them off. */
export const BUILT_IN_CHECKS: readonly string[] = ['hub-reachable'];

export interface NamedCheck {
  readonly name: string;
  readonly timeoutMs: number;
}

/**
 * The provisioned checks a push selects, in the pushed order, with any timeout override applied.
 * Built-ins are left out (the caller always appends them). Throws E_PUSH_HEALTH_CHECK for a name
 * that is neither provisioned nor built in, or a timeout on a built-in.
 */
export function selectHealthChecks<T extends NamedCheck>(provisioned: readonly T[], pushed: readonly PushedHealthCheck[]): T[] {
  const out: T[] = [];
  for (const p of pushed) {
    const found = provisioned.find((c) => c.name === p.name);
    if (found) {
      out.push(p.timeoutS === undefined ? found : { ...found, timeoutMs: p.timeoutS * 1000 });
      continue;
    }
    if (!BUILT_IN_CHECKS.includes(p.name)) {
      const known = [...provisioned.map((c) => c.name), ...BUILT_IN_CHECKS].join(', ');
      throw new AgentError('E_PUSH_HEALTH_CHECK', `pushed health check "${p.name}" is not provisioned on this node (known: ${known})`);
    }
    if (p.timeoutS !== undefined) throw new AgentError('E_PUSH_HEALTH_CHECK', `built-in health check "${p.name}" takes no timeout`);
  }
  return out;
}
