// The hub side of one agent connection: hello → challenge → verify the signature → the node is
// its key's fingerprint (never the device id it claims) → accepted / pending / rejected; then
// reports, batched and written through the store in ONE transaction per batch and acknowledged
// only after commit; command acks recorded; stored commands (re)sent. Per-node report rate is
// capped (a flood is slowed, not stored faster); inventory size caps live in the store.
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import { authMessage, decodeAgentMessage, encodeHubMessage, isReport } from '../../shared/protocol/index.ts';
import type { AgentMessage, Command, Hello, HubMessage, Report } from '../../shared/protocol/index.ts';
import { fingerprintOf } from '../../agent/identity/device-identity.ts';
import { isOutpostError } from '../../shared/errors.ts';
import type { HubContext } from '../context.ts';
import type { LocalLink } from './registry.ts';
import { TokenBucket } from './token-bucket.ts';
import type { ErrorCode } from '../../shared/error-codes.ts';

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Reports written in one transaction at most (the agent keeps at most 32 on the wire). */
const MAX_BATCH = 64;
let counter = 0;
const nextId = () => `h-${Date.now().toString(36)}-${++counter}`;

export class AgentLink implements LocalLink {
  readonly ws: WebSocket;
  nodeId = '';
  #ctx: HubContext;
  /** Host header of the upgrade request: the hub the agent meant to reach (auth binds it). */
  readonly host: string;
  #hello: Hello | null = null;
  #nonce: string | null = null;
  #ready = false;
  #closed = false;
  #queue: Promise<void> = Promise.resolve();
  #batch: Report[] = [];
  #draining = false;
  #rate: TokenBucket;
  /** Commands the node rate-limited, waiting to go again (cleared when the socket closes). */
  #retries = new Set<NodeJS.Timeout>();

  #handshakeEnd: (authenticated?: boolean) => void;

  #paceMs: () => number;

  /**
   * `onHandshakeEnd`: called once, when the node is authenticated (true) or the socket closed.
   * `paceMs`: how long to hold the acceptance of a node (admission control paces them).
   */
  constructor(ws: WebSocket, ctx: HubContext, host: string, onHandshakeEnd: (authenticated: boolean) => void = () => {}, paceMs: () => number = () => 0) {
    this.ws = ws;
    this.#ctx = ctx;
    this.host = host;
    let ended = false;
    this.#handshakeEnd = (authenticated = false) => {
      if (ended) return;
      ended = true;
      onHandshakeEnd(authenticated);
    };
    this.#paceMs = paceMs;
    this.#rate = new TokenBucket(ctx.policy.reportRatePerS, ctx.policy.reportBurst, ctx.now);
    const timer = setTimeout(() => {
      if (this.#ready) return;
      ws.close(4000, 'handshake timeout');
      this.#handshakeEnd(); // given up: its socket may linger in the close handshake, admission need not wait
    }, ctx.policy.handshakeTimeoutMs);
    ws.once('close', () => {
      clearTimeout(timer);
      for (const t of this.#retries) clearTimeout(t);
      this.#handshakeEnd();
      this.#closed = true;
      if (this.#ready && ctx.links.remove(this)) {
        ctx.store.setDisconnected(this.nodeId, ctx.hubId, ctx.now()).catch((err) => ctx.log.warn('cannot record a disconnect', { err }));
      }
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.#send({ v: 1, type: 'error', id: nextId(), code: 'E_PROTOCOL_FRAME', message: 'binary frame' });
      const d = decodeAgentMessage(data as Buffer);
      if (!d.ok) {
        this.#send({ v: 1, type: 'error', id: nextId(), code: d.code, message: d.reason.slice(0, 500), ...(d.ref ? { ref: d.ref } : {}) });
        return;
      }
      const m = d.message;
      if (isReport(m) && this.#ready) {
        // Reports that arrive while a batch is being written join the next one.
        this.#batch.push(m);
        if (!this.#draining) {
          this.#draining = true;
          this.#enqueue(() => this.#drain());
        }
        return;
      }
      this.#enqueue(() => this.#handle(m));
    });
  }

  /** In order, one at a time: report N is committed before N+1 is looked at. */
  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch((err) => {
      if (isOutpostError(err, 'E_STORE_UNKNOWN_NODE')) return void this.ws.close(4003, 'no longer accepted');
      this.#ctx.log.error('agent message failed', { err, node: this.nodeId || undefined });
      this.ws.close(1011, 'hub error');
    });
  }

  #send(m: HubMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeHubMessage(m));
  }

  send(c: Command): void {
    if (this.#ready) this.#send(c);
  }

  backoff(retryAfterS: number): void {
    this.#send({ v: 1, type: 'backoff', id: nextId(), retryAfterS });
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  async #handle(m: AgentMessage): Promise<void> {
    if (m.type === 'hello') {
      if (this.#hello) return this.#protocolError('duplicate hello', m.id);
      this.#hello = m;
      this.#nonce = randomBytes(32).toString('base64');
      return this.#send({ v: 1, type: 'challenge', id: nextId(), nonce: this.#nonce });
    }
    if (m.type === 'auth') return this.#auth(m.signature, m.id);
    if (m.type === 'error') return void this.#ctx.log.warn('agent reported an error', { node: this.nodeId || undefined, code: m.code, message: m.message });
    if (!this.#ready) return this.#protocolError(`${m.type} before auth`, m.id);
    if (m.type === 'ack') {
      if (m.result === 'rejected' && m.code === 'E_RATE_LIMITED') return this.#retryLater(m.ref, m.retryAfterS ?? 60);
      return this.#ack(m.ref, m.result, m.code, m.message);
    }
  }

  /**
   * "Not now" is not "no": a command the node refused under its rate limit (an offer among them)
   * stays pending, so a rollout does not count it as a refusal, and goes again when the node said
   * it may. A reconnect in between resends it anyway (outstanding commands); the node answers a
   * replay of what it already took as a duplicate.
   */
  #retryLater(ref: string, retryAfterS: number): void {
    const ctx = this.#ctx;
    ctx.log.info('command rate-limited by the node; sending it again later', { node: this.nodeId, ref, retryAfterS });
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      this.#enqueue(async () => {
        if (this.#closed) return;
        const row = await ctx.store.getCommand(this.nodeId, ref);
        if (row?.status === 'pending') this.#send(row.command);
      });
    }, retryAfterS * 1000);
    timer.unref();
    this.#retries.add(timer);
  }

  #protocolError(message: string, ref: string): void {
    this.#send({ v: 1, type: 'error', id: nextId(), code: 'E_PROTOCOL_STATE', message, ref });
  }

  #reject(code: ErrorCode, message: string): void {
    this.#ctx.log.warn('agent rejected', { deviceId: this.#hello?.deviceId, code });
    this.#send({ v: 1, type: 'auth.result', id: nextId(), result: 'rejected', code, message });
    this.ws.close(4003, code);
  }

  async #auth(signature: string, ref: string): Promise<void> {
    const hello = this.#hello;
    if (!hello || !this.#nonce || this.#ready) return this.#protocolError('unexpected auth', ref);
    const nonce = this.#nonce;
    this.#nonce = null; // one attempt per challenge
    const raw = Buffer.from(hello.publicKey, 'base64');
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    // The signature binds the hub the agent dialled (its Host header): one made for another hub is refused.
    if (!verify(null, authMessage(nonce, hello.deviceId, this.host), key, Buffer.from(signature, 'base64'))) {
      return this.#reject('E_AUTH_SIGNATURE', `signature does not verify with the presented key for hub ${this.host}`);
    }
    const ctx = this.#ctx;
    const id = fingerprintOf(raw);
    const now = ctx.now();
    // The node is its key. A new key claiming the device id of an accepted node is refused
    // before anything is stored, so it can neither take that node's place nor pose as it.
    if (!(await ctx.store.getNode(id))) {
      const { nodes } = await ctx.store.listNodes({ deviceId: hello.deviceId, status: 'accepted' }, { limit: 1 });
      if (nodes.length) return this.#reject('E_AUTH_KEY_MISMATCH', 'this device id is registered with another key');
    }
    const admitted = await ctx.store.admitNode({
      id, publicKey: hello.publicKey, deviceId: hello.deviceId, agentVersion: hello.agentVersion,
      compatible: hello.compatible ?? [], ...(hello.site ? { site: hello.site } : {}), ...(hello.running ? { running: hello.running } : {}),
      autoAccept: ctx.policy.acceptAll, now,
    });
    if ('refused' in admitted) return this.#reject('E_AUTH_PENDING_FULL', 'too many enrolments wait for an operator; try again later');
    const node = admitted.node;
    if (node.status === 'rejected') return this.#reject('E_AUTH_REJECTED', 'an operator rejected this key');
    if (node.status === 'pending') {
      ctx.log.info('agent pending operator acceptance', { deviceId: hello.deviceId, fingerprint: id });
      this.#send({ v: 1, type: 'auth.result', id: nextId(), result: 'pending', retryAfterS: ctx.policy.pendingRetryS, node: id.slice(0, 16) });
      this.ws.close(4001, 'pending');
      return;
    }
    const wait = this.#paceMs();
    if (wait > 0) await sleep(wait);
    if (this.#closed) return;
    this.nodeId = id;
    this.#ready = true;
    ctx.links.set(this);
    await ctx.store.setConnected(id, ctx.hubId, now);
    // hubTime raises the node's time floor; inventoryHash tells it which base its next diff needs.
    this.#send({
      v: 1, type: 'auth.result', id: nextId(), result: 'accepted', ackedSeq: node.ackedSeq, node: id.slice(0, 16), hubTime: ctx.now(),
      ...(node.inventoryHash ? { inventoryHash: node.inventoryHash } : {}),
    });
    for (const c of await ctx.store.outstandingCommands(id)) this.#send(c.command);
    this.#handshakeEnd(true);
  }

  async #ack(ref: string, result: 'accepted' | 'duplicate' | 'rejected', code?: string, message?: string): Promise<void> {
    const ctx = this.#ctx;
    const row = await ctx.store.ackCommand(this.nodeId, ref, { result, ...(code ? { code } : {}), ...(message ? { message } : {}) }, ctx.now());
    // The store keeps the first ack of a command; a replay's "duplicate" shows in the log only.
    ctx.log.info('command acknowledged', { node: this.nodeId, ref, result, ...(code ? { code } : {}) });
    if (!row) return;
    // Cancelled (an aborted rollout) while on its way: the node took it, so tell it to stop.
    if (row.status === 'cancelled' && row.command.type === 'offer' && result !== 'rejected') {
      await ctx.store.enqueueCommand(this.nodeId, { v: 1, type: 'cancel', id: `c-x-${randomBytes(8).toString('hex')}`, deploymentId: row.command.deploymentId }, { now: ctx.now() });
    }
    for (const h of ctx.hooks.commandAcked) h(this.nodeId, row);
  }

  async #drain(): Promise<void> {
    const ctx = this.#ctx;
    try {
      while (this.#batch.length && !this.#closed) {
        const batch = this.#batch.splice(0, MAX_BATCH);
        // The per-node rate cap: a node sending faster than allowed is simply answered later;
        // its outbox keeps the rest (at most 32 unacknowledged on the wire).
        const wait = this.#rate.debt(batch.length);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const r = await ctx.store.appendReports(this.nodeId, batch, ctx.now());
        this.#send({ v: 1, type: 'report.ack', id: nextId(), upTo: r.ackedSeq });
        if (r.inventoryRefresh) await this.#askFullInventory();
        for (const h of ctx.hooks.reportsApplied) h(this.nodeId, r);
      }
    } finally {
      this.#draining = false;
      if (this.#batch.length && !this.#closed) {
        this.#draining = true;
        this.#enqueue(() => this.#drain());
      }
    }
  }

  async #askFullInventory(): Promise<void> {
    const ctx = this.#ctx;
    const pending = await ctx.store.listCommands({ nodeId: this.nodeId, status: 'pending' }, { limit: 200 });
    if (pending.some((c) => c.type === 'inventory.refresh')) return;
    ctx.log.warn('inventory diff against another base; asking for a full inventory', { node: this.nodeId });
    await ctx.store.enqueueCommand(this.nodeId, { v: 1, type: 'inventory.refresh', id: `c-inv-${randomBytes(8).toString('hex')}` }, { now: ctx.now() });
  }
}
