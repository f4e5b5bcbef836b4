// What a hub push may do to the post-boot health checks: tune the timeout of provisioned checks
// by name, nothing more. It never carries a command (a hub without the signing key must not be
// able to run code on a node), and it never switches a check off: every provisioned check and the
// built-ins ("hub-reachable") always run, so a compromised hub cannot get a broken (if signed)
// image committed by removing the checks that would catch it.
import { OutpostError } from '../../shared/errors.ts';
import type { PushedHealthCheck } from '../../shared/protocol/messages.ts';

/** Checks the agent itself provides; a push may name them, and cannot switch them off. */
export const BUILT_IN_CHECKS: readonly string[] = ['hub-reachable'];

export interface NamedCheck {
  readonly name: string;
  readonly timeoutMs: number;
}

/**
 * Every provisioned check, in provisioned order, with the push's timeout overrides applied.
 * Built-ins are left out (the caller always appends them). Throws E_PUSH_HEALTH_CHECK for a name
 * that is neither provisioned nor built in, or a timeout on a built-in.
 */
export function selectHealthChecks<T extends NamedCheck>(provisioned: readonly T[], pushed: readonly PushedHealthCheck[]): T[] {
  const timeouts = new Map<string, number>();
  for (const p of pushed) {
    if (provisioned.some((c) => c.name === p.name)) {
      if (p.timeoutS !== undefined) timeouts.set(p.name, p.timeoutS * 1000);
      continue;
    }
    if (!BUILT_IN_CHECKS.includes(p.name)) {
      const known = [...provisioned.map((c) => c.name), ...BUILT_IN_CHECKS].join(', ');
      throw new OutpostError('E_PUSH_HEALTH_CHECK', `pushed health check "${p.name}" is not provisioned on this node (known: ${known})`);
    }
    if (p.timeoutS !== undefined) throw new OutpostError('E_PUSH_HEALTH_CHECK', `built-in health check "${p.name}" takes no timeout`);
  }
  return provisioned.map((c) => (timeouts.has(c.name) ? { ...c, timeoutMs: timeouts.get(c.name)! } : c));
}

/**
 * The provisioned checks as the last accepted push tuned them (null: untouched). The trial boot
 * reads `current()`; `prepare` validates a push without changing anything.
 */
export class PushedHealthChecks<T extends NamedCheck> {
  readonly #provisioned: readonly T[];
  #current: readonly T[] | null = null;

  constructor(provisioned: readonly T[]) {
    this.#provisioned = provisioned;
  }

  /** The selection a push asks for (null: the push leaves health checks alone). Throws E_PUSH_HEALTH_CHECK. */
  prepare(pushed: readonly PushedHealthCheck[] | undefined): readonly T[] | null {
    return pushed ? selectHealthChecks(this.#provisioned, pushed) : null;
  }

  set(selection: readonly T[] | null): void {
    this.#current = selection;
  }

  current(): readonly T[] | null {
    return this.#current;
  }
}
