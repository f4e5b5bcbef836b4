// Wraps the caller's sink to know, at any moment, the first block not yet handed over: that is
// where a retry within one deliver() resumes, so at most one partial block is fetched twice.
import { blocksIn, type BlockSink, type VerifiedHead } from '../bundle/types.ts';
import type { PayloadEntry } from '../../shared/bundle/types.ts';

export class TrackingSink implements BlockSink {
  head: VerifiedHead | null = null;
  /** Payload being written (the last one begun or resumed). */
  current: string | null = null;
  /** Blocks handed over during this deliver() call. */
  delivered = 0;
  readonly #inner: BlockSink;
  readonly #next = new Map<string, number>();
  readonly #begun = new Set<string>();

  constructor(inner: BlockSink) {
    this.#inner = inner;
  }

  /** Start from a resume point (head re-verified by the caller). */
  seed(head: VerifiedHead, payload: string, nextBlock: number): void {
    this.head = head;
    this.current = payload;
    this.#next.set(payload, nextBlock);
  }

  nextBlock(payload: string): number {
    return this.#next.get(payload) ?? 0;
  }

  begun(payload: string): boolean {
    return this.#begun.has(payload) || this.#next.has(payload);
  }

  async begin(head: VerifiedHead, payload: PayloadEntry): Promise<void> {
    await this.#inner.begin(head, payload);
    this.head ??= head;
    this.current = payload.name;
    this.#begun.add(payload.name);
    if (!this.#next.has(payload.name)) this.#next.set(payload.name, 0);
  }

  async block(payload: PayloadEntry, index: number, data: Buffer): Promise<void> {
    await this.#inner.block(payload, index, data);
    this.current = payload.name;
    const n = blocksIn(payload, data);
    this.#next.set(payload.name, index + n);
    this.delivered += n;
  }

  async end(payload: PayloadEntry): Promise<void> {
    await this.#inner.end(payload);
  }
}
