// The agent links this hub process holds, by node id (key fingerprint). Commands reach a node
// through the store: enqueueCommand stores it and notifies the bus; the process holding the
// node's socket (any process sharing the database) reads it back and sends it. So an offer made
// through one hub process reaches a node connected to another.
import type { Command } from '../../shared/protocol/index.ts';
import type { HubStore, JsonValue, NodeId } from '../store/types.ts';
import { BUS_COMMAND } from '../store/types.ts';
import type { Logger } from '../../agent/log/logger.ts';

export interface LocalLink {
  readonly nodeId: NodeId;
  send(c: Command): void;
  /** Tells the node to close and come back within `retryAfterS` (spread by the agent). */
  backoff(retryAfterS: number): void;
  close(code: number, reason: string): void;
}

export class LinkRegistry {
  #links = new Map<NodeId, LocalLink>();
  #unsubscribe: (() => Promise<void>) | null = null;

  get size(): number {
    return this.#links.size;
  }

  has(id: NodeId): boolean {
    return this.#links.has(id);
  }

  get(id: NodeId): LocalLink | undefined {
    return this.#links.get(id);
  }

  /** One link per node: a newer connection replaces an older (probably dead) one. */
  set(link: LocalLink): void {
    const old = this.#links.get(link.nodeId);
    this.#links.set(link.nodeId, link);
    if (old && old !== link) old.close(4002, 'replaced by a newer connection');
  }

  /** Removes it if it is still the registered one; true when it was. */
  remove(link: LocalLink): boolean {
    if (this.#links.get(link.nodeId) !== link) return false;
    this.#links.delete(link.nodeId);
    return true;
  }

  /** Sends stored commands to the nodes this process holds, as the bus announces them. */
  async listen(store: HubStore, log: Logger): Promise<void> {
    this.#unsubscribe = await store.subscribe(BUS_COMMAND, (payload: JsonValue) => {
      const p = payload as { nodeId?: unknown; id?: unknown };
      if (typeof p.nodeId !== 'string' || typeof p.id !== 'string') return;
      const link = this.#links.get(p.nodeId);
      if (!link) return;
      void store.getCommand(p.nodeId, p.id as string).then((row) => {
        if (row?.status === 'pending' && this.#links.get(p.nodeId as string) === link) link.send(row.command);
      }).catch((err) => log.warn('cannot read a notified command', { err, node: p.nodeId }));
    });
  }

  async stop(): Promise<void> {
    await this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  all(): LocalLink[] {
    return [...this.#links.values()];
  }
}
