// One authenticated conversation over one open websocket: hello → challenge → signed auth →
// replay the outbox from the hub's watermark → live reports and commands. Every inbound frame
// is decoded by the shared codec first; anything invalid gets an error reply (or is dropped
// when the socket is backed up) and never reaches the handlers.
import type WebSocket from 'ws';
import { randomUUID } from 'node:crypto';
import { decodeHubMessage, encodeAgentMessage } from '../../shared/protocol/codec.ts';
import { authMessage } from '../../shared/protocol/limits.ts';
import type { AgentMessage, HubMessage, Report } from '../../shared/protocol/messages.ts';
import type { DeviceIdentity } from '../identity/device-identity.ts';
import type { Logger } from '../log/logger.ts';
import type { Outbox } from './outbox.ts';
import type { CommandDispatcher } from './commands.ts';
import type { HelloInfo } from './hello-info.ts';
import type { ErrorCode } from '../../shared/error-codes.ts';

export interface SessionDeps {
  identity: DeviceIdentity;
  outbox: Outbox;
  commands: CommandDispatcher;
  log: Logger;
  agentVersion: string;
  capabilities: readonly string[];
  /** compatible / site / running for hello, asked at every connect (running changes with updates). */
  describe?: () => Promise<HelloInfo>;
  /** host[:port] of the hub URL dialled (the Host header): bound into the auth signature. */
  hubHost: string;
  /** Give up on a hub that does not finish the handshake in time. */
  authTimeoutMs: number;
  /** Reports sent but not yet acknowledged, at most. */
  window: number;
  /** After the outbox moved its watermark to `upTo` (auth result or report.ack). */
  onAcked?: (upTo: number) => void;
  /** Once per authenticated session, after the acked reports were dropped. */
  onAuthenticated?: (info: AuthInfo) => void;
}

/** What the hub told us when it accepted this node. */
export interface AuthInfo {
  ackedSeq: number;
  /** The hub's clock (epoch ms), if it sent one. */
  hubTime?: number;
  /** Hash of the inventory the hub holds for us; undefined: none (or a hub without hashes). */
  inventoryHash?: string;
}

export type SessionEnd =
  | { kind: 'closed'; authenticated: boolean; code: number; reason: string }
  | { kind: 'backoff'; authenticated: boolean; retryAfterS: number }
  | { kind: 'pending'; retryAfterS: number }
  | { kind: 'rejected'; code: string; message: string };

/** Replies stop when this much is already queued on the socket, so a flood cannot grow memory. */
const MAX_BUFFERED = 256 * 1024;
/** Valid messages waiting for their turn; beyond this they are refused, not queued. */
const MAX_QUEUED = 1024;

type Phase = 'hello' | 'auth' | 'ready' | 'done';

export class HubSession {
  #ws: WebSocket;
  #d: SessionDeps;
  #phase: Phase = 'hello';
  #nonceSeen = false;
  #lastSent = 0;
  #ended: SessionEnd | null = null;
  #unsubscribe: (() => void) | null = null;
  #counter = 0;
  #onReady: (() => void) | null = null;
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;

  constructor(ws: WebSocket, deps: SessionDeps) {
    this.#ws = ws;
    this.#d = deps;
  }

  get authenticated(): boolean {
    return this.#phase === 'ready';
  }

  /** Resolves when the socket closes, saying why; `onReady` fires once authenticated. */
  run(onReady?: () => void): Promise<SessionEnd> {
    this.#onReady = onReady ?? null;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.#phase !== 'ready') this.#finish({ kind: 'closed', authenticated: false, code: 4000, reason: 'auth timeout' }, 4000);
      }, this.#d.authTimeoutMs);
      this.#ws.on('message', (data, isBinary) => this.#onFrame(data as Buffer, isBinary));
      this.#ws.once('close', (code, reason) => {
        clearTimeout(timer);
        this.#unsubscribe?.();
        const authenticated = this.#phase === 'ready';
        this.#phase = 'done';
        resolve(this.#ended ?? { kind: 'closed', authenticated, code, reason: reason.toString('utf8').slice(0, 200) });
      });
      void this.#sendHello();
    });
  }

  async #sendHello(): Promise<void> {
    const info = this.#d.describe ? await this.#d.describe().catch(() => ({})) : {};
    try {
      this.#send({
        v: 1, type: 'hello', id: this.#nextId(),
        deviceId: this.#d.identity.deviceId,
        agentVersion: this.#d.agentVersion,
        publicKey: this.#d.identity.publicKey,
        capabilities: [...this.#d.capabilities],
        ...info,
      });
    } catch (err) {
      // Our own hello does not pass the protocol checks (a bad device id): say so, do not crash.
      this.#d.log.error('cannot send hello', { err });
      this.#finish({ kind: 'closed', authenticated: false, code: 4000, reason: 'invalid hello' }, 4000);
    }
  }

  #nextId(): string {
    return `a-${++this.#counter}-${randomUUID().slice(0, 8)}`;
  }

  #send(m: AgentMessage): boolean {
    if (this.#ws.readyState !== this.#ws.OPEN) return false;
    this.#ws.send(encodeAgentMessage(m));
    return true;
  }

  #replyError(code: ErrorCode, message: string, ref?: string): void {
    if (this.#ws.bufferedAmount > MAX_BUFFERED) return; // drop: the hub is not reading
    this.#send({ v: 1, type: 'error', id: this.#nextId(), code, message: message.slice(0, 500), ...(ref ? { ref } : {}) });
  }

  #finish(end: SessionEnd, code = 1000): void {
    if (this.#ended) return;
    this.#ended = end;
    const reason = end.kind;
    this.#ws.close(code, reason);
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    if (this.#phase === 'done' || this.#ended) return;
    if (isBinary) return this.#replyError('E_PROTOCOL_FRAME', 'binary frames are not part of the protocol');
    const d = decodeHubMessage(data);
    if (!d.ok) return this.#replyError(d.code, d.reason, d.ref);
    // One message at a time: a replayed offer must see the ledger entry of the first one.
    const m = d.message;
    if (this.#queued >= MAX_QUEUED) return this.#replyError('E_PROTOCOL_BUSY', 'too many messages waiting; resend later', m.id);
    this.#queued++;
    this.#queue = this.#queue
      .then(() => this.#handle(m))
      .catch((err) => {
        this.#d.log.error('handling hub message failed', { type: m.type, err });
        this.#replyError('E_INTERNAL', 'agent failed to handle the message', m.id);
      })
      .finally(() => {
        this.#queued--;
      });
  }

  async #handle(m: HubMessage): Promise<void> {
    switch (m.type) {
      case 'error':
        this.#d.log.warn('hub reported an error', { code: m.code, message: m.message, ref: m.ref });
        return;
      case 'backoff':
        this.#d.log.info('hub asked us to back off', { retryAfterS: m.retryAfterS });
        return this.#finish({ kind: 'backoff', authenticated: this.#phase === 'ready', retryAfterS: m.retryAfterS });
      case 'challenge': {
        if (this.#phase !== 'hello' || this.#nonceSeen) return this.#replyError('E_PROTOCOL_STATE', 'unexpected challenge', m.id);
        this.#nonceSeen = true;
        this.#phase = 'auth';
        const signature = this.#d.identity.sign(authMessage(m.nonce, this.#d.identity.deviceId, this.#d.hubHost)).toString('base64');
        this.#send({ v: 1, type: 'auth', id: this.#nextId(), signature });
        return;
      }
      case 'auth.result': {
        if (this.#phase !== 'auth') return this.#replyError('E_PROTOCOL_STATE', 'unexpected auth.result', m.id);
        if (m.result === 'pending') {
          this.#d.log.warn('hub holds this node as pending until an operator accepts its fingerprint', {
            fingerprint: this.#d.identity.fingerprint, retryAfterS: m.retryAfterS,
          });
          return this.#finish({ kind: 'pending', retryAfterS: m.retryAfterS });
        }
        if (m.result === 'rejected') {
          this.#d.log.error('hub rejected this node', { code: m.code, message: m.message, fingerprint: this.#d.identity.fingerprint });
          return this.#finish({ kind: 'rejected', code: m.code, message: m.message });
        }
        this.#phase = 'ready';
        const ackedBefore = this.#d.outbox.acked;
        const ahead = await this.#d.outbox.adoptHubWatermark(m.ackedSeq);
        // Ahead: the hub acknowledged nothing this outbox wrote; it must hear why numbering jumps.
        if (ahead > 0) this.#replyError('E_OUTBOX_AHEAD', `ackedSeq ${m.ackedSeq} is ${ahead} above the last report this node wrote (outbox lost or restored); numbering continues at ${m.ackedSeq + 1}`, m.id);
        this.#d.onAcked?.(ahead > 0 ? ackedBefore : m.ackedSeq);
        this.#d.onAuthenticated?.({
          ackedSeq: m.ackedSeq,
          ...(m.hubTime !== undefined ? { hubTime: m.hubTime } : {}),
          ...(m.inventoryHash !== undefined ? { inventoryHash: m.inventoryHash } : {}),
        });
        this.#lastSent = Math.max(this.#d.outbox.acked, m.ackedSeq);
        this.#d.log.info('authenticated with the hub', { node: m.node, ackedSeq: m.ackedSeq, backlog: this.#d.outbox.pendingCount });
        this.#unsubscribe = this.#d.outbox.onAppend(() => this.#pump());
        this.#pump();
        this.#onReady?.();
        return;
      }
      case 'report.ack':
        if (this.#phase !== 'ready') return this.#replyError('E_PROTOCOL_STATE', 'report.ack before auth', m.id);
        if (m.upTo > this.#lastSent) return this.#replyError('E_PROTOCOL_FIELD', 'upTo: acknowledges reports never sent', m.id);
        await this.#d.outbox.ack(m.upTo);
        this.#d.onAcked?.(m.upTo);
        this.#pump();
        return;
      default: {
        if (this.#phase !== 'ready') return this.#replyError('E_PROTOCOL_STATE', `${m.type} before auth`, m.id);
        const ack = await this.#d.commands.handle(m);
        this.#send({ v: 1, type: 'ack', id: this.#nextId(), ref: m.id, ...ack });
        return;
      }
    }
  }

  /** Sends journaled reports in order, keeping at most `window` unacknowledged on the wire. */
  #pump(): void {
    if (this.#phase !== 'ready') return;
    const acked = this.#d.outbox.acked;
    const inflight = this.#d.outbox.pendingAfter(acked, this.#d.window).filter((r) => r.seq <= this.#lastSent).length;
    if (inflight >= this.#d.window) return;
    for (const r of this.#d.outbox.pendingAfter(this.#lastSent, this.#d.window - inflight)) {
      if (!this.#send(r as Report)) return;
      this.#lastSent = r.seq;
    }
  }
}
