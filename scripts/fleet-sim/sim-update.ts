// A simulated update service for the fleet simulator: the agent link's UpdatePort with
// the deployment played in time instead of downloading and rebooting. It accepts an offer,
// reports writing → health_checking → success (and then runs the new version), or rolled-back
// with E_HEALTH_CHECK on a node chosen to fail; a cancel before it started ends it cancelled.
import type { Offer } from '../../shared/protocol/index.ts';
import type { OfferDecision, UpdateReport, UpdatePort } from '../../agent/hub/ports.ts';

export interface SimRunning {
  version: string;
  release: number;
  slot: string;
}

export interface SimUpdateOptions {
  /** This node's install fails its health check ... */
  fail: boolean;
  /** ... for this version only (null: any version). */
  failVersion: string | null;
  stepMs: number;
  onRunning: (r: SimRunning) => void;
}

export class SimUpdate implements UpdatePort {
  #o: SimUpdateOptions;
  #listeners = new Set<(e: UpdateReport) => void>();
  #known = new Set<string>();
  #current: { id: string; state: string; timer: NodeJS.Timeout | null } | null = null;
  onOffer: (deploymentId: string) => void = () => {};

  constructor(o: SimUpdateOptions) {
    this.#o = o;
  }

  async offer(o: Offer): Promise<OfferDecision> {
    if (this.#known.has(o.deploymentId)) return { result: 'duplicate' };
    if (this.#current) return { result: 'rejected', code: 'E_UPDATE_BUSY', message: `deployment ${this.#current.id} is running` };
    this.#known.add(o.deploymentId);
    this.onOffer(o.deploymentId);
    const d = { id: o.deploymentId, state: 'accepted', timer: null as NodeJS.Timeout | null };
    this.#current = d;
    const jitter = () => this.#o.stepMs * (0.5 + Math.random());
    const step = (state: string, next: () => void) => {
      d.timer = setTimeout(() => {
        d.state = state;
        this.#emit({ type: 'state', deploymentId: d.id, state });
        next();
      }, jitter());
    };
    step('writing', () => step('health_checking', () => {
      d.timer = setTimeout(() => {
        this.#current = null;
        if (this.#o.fail && (this.#o.failVersion === null || this.#o.failVersion === o.version)) {
          this.#emit({ type: 'outcome', deploymentId: d.id, result: 'rolled-back', code: 'E_HEALTH_CHECK', message: 'simulated health check failure', log: '' });
        } else {
          this.#o.onRunning({ version: o.version, release: Number(o.release), slot: 'B' });
          this.#emit({ type: 'outcome', deploymentId: d.id, result: 'success', version: o.version, log: '' });
        }
      }, jitter());
    }));
    return { result: 'accepted' };
  }

  async cancel(deploymentId: string): Promise<boolean> {
    const d = this.#current;
    if (!d || d.id !== deploymentId || d.state !== 'accepted') return false;
    if (d.timer) clearTimeout(d.timer);
    this.#current = null;
    this.#emit({ type: 'outcome', deploymentId, result: 'cancelled', code: 'E_CANCELLED', log: '' });
    return true;
  }

  status(): { deploymentId: string; state: string } | null {
    return this.#current ? { deploymentId: this.#current.id, state: this.#current.state } : null;
  }

  onEvent(listener: (e: UpdateReport) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(e: UpdateReport): void {
    for (const l of this.#listeners) l(e);
  }
}
