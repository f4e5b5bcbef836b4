// What a state handler gets. Handlers act and return an Event; they never choose a state.
import type { SlotDevice } from '../../platform/types.ts';
import type { Logger } from '../../log/logger.ts';
import type { Event, State } from '../machine.ts';
import type { ErrorInfo, Journal, TransferRecord } from '../journal.ts';
import type { UpdateDeps } from '../ports.ts';
import type { BundleSource } from '../../bundle/source.ts';
import { OutpostError } from '../../../shared/errors.ts';

type JournalPatch = Partial<Pick<Journal, 'bundle' | 'progress' | 'healthyBoot' | 'transfer'>>;

export interface HandlerContext {
  readonly deps: UpdateDeps;
  readonly journal: Journal;
  readonly log: Logger;
  /** Source of this deployment, or null after a restart when it cannot be rebuilt. */
  readonly source: BundleSource | null;
  /** Durable update of journal fields (progress, bundle facts) without a state change. */
  save(patch: JournalPatch): Promise<void>;
  /** Records why the event that follows is a failure (kept in the journal and the report). */
  setError(error: ErrorInfo): void;
  /** Progress for subscribers (bytes written of total). */
  progress(done: number, total: number): void;
  /** Transfer plan and bytes (full or delta; fetched, local) for subscribers and the journal. */
  transfer?(t: TransferRecord): void;
}

export type Handler = (ctx: HandlerContext, signal: AbortSignal) => Promise<Event>;
export type HandlerTable = { readonly [S in State]?: Handler };

export function targetSlot(ctx: HandlerContext): SlotDevice {
  const s = ctx.deps.slots.find((x) => x.name === ctx.journal.target);
  if (!s) throw new OutpostError('E_SLOT_UNKNOWN', `slot ${ctx.journal.target} is not configured`);
  return s;
}
