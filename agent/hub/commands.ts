// Runs hub commands behind the ports and produces their acknowledgement. Each command is
// recorded in the ledger before it is acknowledged; replays get "duplicate" and do nothing.
import type { Command, CommandAck, PushedConfig, ReportBody } from '../../shared/protocol/messages.ts';
import { isOutpostError } from '../../shared/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { CommandLedger } from './command-ledger.ts';
import type { Rebooter, UpdatePort } from './ports.ts';
import type { CommandLimiter, LimitedCommand } from './command-limits.ts';
import { checkOfferSanity, checkPushSanity } from './push-sanity.ts';

export type AckBody = Pick<CommandAck, 'result' | 'code' | 'message' | 'retryAfterS'>;

export interface CommandDeps {
  ledger: CommandLedger;
  update: UpdatePort | null;
  rebooter: Rebooter | null;
  /** Sends a full inventory report now. */
  refreshInventory: () => Promise<void>;
  /** Persists, then applies hub-pushed settings; resolves when they are on disk. */
  onConfig: (config: PushedConfig) => Promise<void>;
  /** Journals a follow-up report (command.result) through the outbox. */
  report: (body: ReportBody) => Promise<unknown>;
  /** The outbox is at its hard cap: a new deployment would add reports nobody acknowledges. */
  outboxFull?: () => boolean;
  /** Rate limits on commands that cost work (agent/hub/command-limits.ts); absent: none. */
  limits?: CommandLimiter;
  log: Logger;
  now?: () => number;
}

const unsupported = (what: string): AckBody => ({ result: 'rejected', code: 'E_COMMAND_UNSUPPORTED', message: `${what} is not available on this node` });

function failure(err: unknown): AckBody {
  return {
    result: 'rejected',
    code: isOutpostError(err) && /^E_[A-Z0-9_]+$/.test(err.code) ? err.code : 'E_COMMAND_FAILED',
    message: (err instanceof Error ? err.message : String(err)).slice(0, 1000),
  };
}

export class CommandDispatcher {
  #d: CommandDeps;
  #now: () => number;

  constructor(deps: CommandDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** null: may run; else the refusal (not recorded: refusing must cost no disk write). */
  async #limited(type: LimitedCommand): Promise<AckBody | null> {
    const limits = this.#d.limits;
    if (!limits) return null;
    const retryAfterS = await limits.take(type);
    if (retryAfterS === 0) return null;
    const r = limits.rule(type);
    return {
      result: 'rejected', code: 'E_RATE_LIMITED', retryAfterS,
      message: `${type} is limited to ${r.burst} at once, then 1 every ${r.everyS} s; retry in ${retryAfterS} s`,
    };
  }

  async handle(cmd: Command): Promise<AckBody> {
    const seen = this.#d.ledger.byId(cmd.id);
    if (seen) return seen.result === 'rejected' ? { result: 'rejected', ...(seen.code ? { code: seen.code } : {}) } : { result: 'duplicate' };
    // Replays of a deployment are answered before the limit: they cost nothing.
    const known = cmd.type === 'offer' && this.#d.ledger.byDeployment(cmd.deploymentId);
    if (!known) {
      const refused = await this.#limited(cmd.type);
      if (refused) return refused;
    }
    let ack: AckBody;
    let after: (() => Promise<void>) | null = null;
    try {
      switch (cmd.type) {
        case 'offer': {
          if (known) ack = { result: 'duplicate' };
          else if (!this.#d.update) ack = unsupported('updating');
          else if (!cmd.bundle.manifestSha256) ack = { result: 'rejected', code: 'E_OFFER_UNPINNED', message: 'the offer does not pin its bundle (bundle.manifestSha256 missing)' };
          else if (this.#d.outboxFull?.()) ack = { result: 'rejected', code: 'E_OUTBOX_FULL', message: 'the report outbox is full: acknowledge this node\'s reports first' };
          else {
            checkOfferSanity(cmd, this.#now());
            ack = await this.#d.update.offer(cmd);
          }
          break;
        }
        case 'cancel': {
          if (!this.#d.update) ack = unsupported('updating');
          else ack = (await this.#d.update.cancel(cmd.deploymentId))
            ? { result: 'accepted' }
            : { result: 'rejected', code: 'E_CANCEL_TOO_LATE', message: 'no cancellable deployment with that id' };
          break;
        }
        case 'reboot': {
          const rebooter = this.#d.rebooter;
          if (!rebooter) ack = unsupported('rebooting');
          else {
            ack = { result: 'accepted' };
            // Reboot after the ack is on the wire; the hub sees the node come back.
            after = async () => rebooter.reboot(cmd.reason ?? 'requested by hub');
          }
          break;
        }
        case 'inventory.refresh': {
          ack = { result: 'accepted' };
          after = async () => {
            await this.#d.refreshInventory();
            await this.#d.report({ type: 'command.result', at: this.#now(), ref: cmd.id, ok: true });
          };
          break;
        }
        case 'config.push': {
          checkPushSanity(cmd.config, this.#now());
          await this.#d.onConfig(cmd.config);
          ack = { result: 'accepted' };
          break;
        }
      }
    } catch (err) {
      ack = failure(err);
    }
    const entry = {
      id: cmd.id, type: cmd.type, result: ack.result,
      ...(ack.code ? { code: ack.code } : {}),
      ...(cmd.type === 'offer' ? { deploymentId: cmd.deploymentId } : {}),
    };
    // A refusal changed nothing: on a full state disk it is still answered with its code (a
    // replay is simply checked again), not turned into E_INTERNAL by the ledger write.
    if (ack.result === 'rejected') {
      await this.#d.ledger.record(entry).catch((err) => this.#d.log.warn('cannot record a refused command', { command: cmd.type, id: cmd.id, err }));
    } else await this.#d.ledger.record(entry);
    if (after) {
      const run = after;
      setImmediate(() => {
        run().catch(async (err) => {
          this.#d.log.error('command failed after acknowledgement', { command: cmd.type, id: cmd.id, err });
          const f = failure(err);
          await this.#d.report({ type: 'command.result', at: this.#now(), ref: cmd.id, ok: false, ...(f.code ? { code: f.code } : {}), message: f.message ?? '' }).catch(() => {});
        });
      });
    }
    return ack;
  }
}
