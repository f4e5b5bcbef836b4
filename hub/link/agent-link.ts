// The hub side of one agent connection: hello → challenge → verify signature → accepted /
// pending / rejected; then store reports (exactly once, in order) and acknowledge them only
// after the state file holding them is on disk; re-send outstanding commands. An inventory diff
// is applied only on top of the inventory it names as its base, and must produce the hash it
// names; otherwise the hub keeps what it has and asks the node for a full inventory.
import { createPublicKey, randomBytes, randomUUID, verify } from 'node:crypto';
import type WebSocket from 'ws';
import { authMessage, decodeAgentMessage, encodeHubMessage, isReport } from '../../shared/protocol/index.ts';
import type { AgentMessage, Command, HubMessage, Report } from '../../shared/protocol/index.ts';
import { fingerprintOf } from '../../agent/identity/device-identity.ts';
import { hashFlat } from '../../agent/inventory/hash.ts';
import type { Logger } from '../../agent/log/logger.ts';
import { HISTORY_CAP, type HubStore, type NodeRecord } from '../json-store.ts';

export interface LinkPolicy {
  /** Accept every new key (demo convenience); otherwise unknown keys wait as pending. */
  acceptAll: boolean;
  pendingRetryS: number;
  handshakeTimeoutMs: number;
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
let counter = 0;
const nextId = () => `h-${Date.now().toString(36)}-${++counter}`;

export class AgentLink {
  readonly ws: WebSocket;
  node: NodeRecord | null = null;
  #store: HubStore;
  #log: Logger;
  #policy: LinkPolicy;
  #onReady: (link: AgentLink) => void;
  #hello: Extract<AgentMessage, { type: 'hello' }> | null = null;
  #nonce: string | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(ws: WebSocket, store: HubStore, policy: LinkPolicy, log: Logger, onReady: (link: AgentLink) => void) {
    this.ws = ws;
    this.#store = store;
    this.#policy = policy;
    this.#log = log;
    this.#onReady = onReady;
    const timer = setTimeout(() => {
      if (!this.node) ws.close(4000, 'handshake timeout');
    }, policy.handshakeTimeoutMs);
    ws.on('close', () => clearTimeout(timer));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.send({ v: 1, type: 'error', id: nextId(), code: 'E_PROTOCOL_FRAME', message: 'binary frame' });
      const d = decodeAgentMessage(data as Buffer);
      if (!d.ok) {
        this.send({ v: 1, type: 'error', id: nextId(), code: d.code, message: d.reason.slice(0, 500), ...(d.ref ? { ref: d.ref } : {}) });
        return;
      }
      // In order, one at a time: report N is stored before N+1 is looked at.
      this.#queue = this.#queue.then(() => this.#handle(d.message)).catch((err) => {
        this.#log.error('agent message failed', { err });
        ws.close(1011, 'hub error');
      });
    });
  }

  send(m: HubMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeHubMessage(m));
  }

  async #handle(m: AgentMessage): Promise<void> {
    if (m.type === 'hello') {
      if (this.#hello) return this.#protocolError('duplicate hello', m.id);
      this.#hello = m;
      this.#nonce = randomBytes(32).toString('base64');
      return this.send({ v: 1, type: 'challenge', id: nextId(), nonce: this.#nonce });
    }
    if (m.type === 'auth') return this.#auth(m.signature, m.id);
    if (m.type === 'error') return void this.#log.warn('agent reported an error', { node: this.node?.deviceId, code: m.code, message: m.message });
    if (!this.node) return this.#protocolError(`${m.type} before auth`, m.id);
    if (m.type === 'ack') return this.#ack(m.ref, m.result, m.code);
    if (isReport(m)) return this.#report(m);
  }

  #protocolError(message: string, ref: string): void {
    this.send({ v: 1, type: 'error', id: nextId(), code: 'E_PROTOCOL_STATE', message, ref });
  }

  async #auth(signature: string, ref: string): Promise<void> {
    const hello = this.#hello;
    if (!hello || !this.#nonce || this.node) return this.#protocolError('unexpected auth', ref);
    const nonce = this.#nonce;
    this.#nonce = null; // one attempt per challenge
    const raw = Buffer.from(hello.publicKey, 'base64');
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    const reject = (code: string, message: string) => {
      this.#log.warn('agent rejected', { deviceId: hello.deviceId, code });
      this.send({ v: 1, type: 'auth.result', id: nextId(), result: 'rejected', code, message });
      this.ws.close(4003, code);
    };
    if (!verify(null, authMessage(nonce, hello.deviceId), key, Buffer.from(signature, 'base64'))) {
      return reject('E_AUTH_SIGNATURE', 'signature does not verify with the presented key');
    }
    const fp = fingerprintOf(raw);
    const s = this.#store.state;
    const claimed = Object.values(s.nodes).find((n) => n.deviceId === hello.deviceId && n.fingerprint !== fp && n.status === 'accepted');
    if (claimed) return reject('E_AUTH_KEY_MISMATCH', 'this device id is registered with another key');
    const now = Date.now();
    let node = s.nodes[fp];
    const unchanged = node !== undefined && node.status === 'accepted' && node.deviceId === hello.deviceId && node.agentVersion === hello.agentVersion;
    if (!node) {
      const accepted = this.#policy.acceptAll || s.preauthorized.includes(fp);
      node = {
        fingerprint: fp, deviceId: hello.deviceId, publicKey: hello.publicKey, status: accepted ? 'accepted' : 'pending',
        groups: [], agentVersion: hello.agentVersion, firstSeen: now, lastSeen: now, ackedSeq: 0, reports: 0,
        inventory: null, location: null, deployment: null, history: [], outstanding: [], acks: [],
      };
      s.nodes[fp] = node;
    }
    if (node.status === 'pending' && s.preauthorized.includes(fp)) node.status = 'accepted';
    node.deviceId = hello.deviceId;
    node.agentVersion = hello.agentVersion;
    node.lastSeen = now;
    // A new or changed registration must be on disk before we answer; a known node's lastSeen need not.
    if (unchanged) void this.#store.persist().catch(() => {});
    else await this.#store.persist();
    if (node.status === 'pending') {
      this.#log.info('agent pending operator acceptance', { deviceId: hello.deviceId, fingerprint: fp });
      this.send({ v: 1, type: 'auth.result', id: nextId(), result: 'pending', retryAfterS: this.#policy.pendingRetryS, node: fp.slice(0, 16) });
      this.ws.close(4001, 'pending');
      return;
    }
    this.node = node;
    // hubTime raises the node's time floor; inventoryHash tells it which base its next diff needs.
    this.send({
      v: 1, type: 'auth.result', id: nextId(), result: 'accepted', ackedSeq: node.ackedSeq, node: fp.slice(0, 16), hubTime: Date.now(),
      ...(node.inventoryHash ? { inventoryHash: node.inventoryHash } : {}),
    });
    this.#onReady(this);
    for (const c of node.outstanding) this.send(c);
  }

  async #ack(ref: string, result: string, code?: string): Promise<void> {
    const node = this.node!;
    const cmd = node.outstanding.find((c) => c.id === ref);
    node.outstanding = node.outstanding.filter((c) => c.id !== ref);
    node.acks = [...node.acks, { ref, type: cmd?.type ?? 'unknown', result, ...(code ? { code } : {}), at: Date.now() }].slice(-200);
    if (cmd?.type === 'offer' && result !== 'rejected' && node.deployment?.id !== cmd.deploymentId) {
      node.deployment = { id: cmd.deploymentId, state: 'offered', progress: null, outcome: null };
    }
    await this.#store.persist();
  }

  async #report(r: Report): Promise<void> {
    const node = this.node!;
    let refresh: Command | null = null;
    if (r.seq > node.ackedSeq) {
      const mode = apply(node, r);
      node.ackedSeq = r.seq;
      node.reports += 1;
      node.lastSeen = Date.now();
      node.history.push({ seq: r.seq, type: r.type, at: r.at, ...(mode ? { mode } : {}) });
      if (node.history.length > HISTORY_CAP) node.history.splice(0, node.history.length - HISTORY_CAP);
      if (mode === 'wrong-base' && !node.outstanding.some((c) => c.type === 'inventory.refresh')) {
        this.#log.warn('inventory diff against another base; asking for a full inventory', { node: node.deviceId, seq: r.seq });
        refresh = { v: 1, type: 'inventory.refresh', id: `c-inv-${randomUUID()}` };
        node.outstanding.push(refresh);
      }
    }
    // A replay (seq <= ackedSeq) is not applied twice, but it is acknowledged only once a write
    // holding the watermark has finished: the first copy may still be on its way to disk.
    const upTo = node.ackedSeq;
    await this.#store.persist();
    this.send({ v: 1, type: 'report.ack', id: nextId(), upTo });
    if (refresh) this.send(refresh);
  }

  /** Sends a command now if connected; the caller has already stored it as outstanding. */
  deliver(c: Command): void {
    if (this.node) this.send(c);
  }
}

/** Applies one report; for inventory returns how (full, diff, duplicate, wrong-base). */
function apply(node: NodeRecord, r: Report): string | void {
  switch (r.type) {
    case 'inventory': {
      if (r.mode === 'full') {
        node.inventory = { ...r.data };
        node.inventoryHash = r.hash ?? null;
        return 'full';
      }
      const held = node.inventoryHash ?? null;
      if (r.hash !== undefined && r.hash === held) return 'duplicate'; // already there (a resent diff)
      if (r.base !== undefined && r.base !== held) return 'wrong-base';
      const inv = { ...(node.inventory ?? {}) };
      for (const k of r.unset) delete inv[k];
      Object.assign(inv, r.set);
      // The result must be what the agent hashed; otherwise our copy drifted: get a full one.
      if (r.hash !== undefined && hashFlat(inv) !== r.hash) return 'wrong-base';
      node.inventory = inv;
      node.inventoryHash = r.hash ?? null;
      return 'diff';
    }
    case 'location':
      node.location = { lat: r.lat, lon: r.lon, source: r.source, fixAt: r.fixAt, ...(r.moved !== undefined ? { moved: r.moved } : {}), ...(r.accuracyM !== undefined ? { accuracyM: r.accuracyM } : {}) };
      return;
    case 'update.progress':
    case 'update.state':
    case 'update.outcome': {
      if (node.deployment?.id !== r.deploymentId) node.deployment = { id: r.deploymentId, state: null, progress: null, outcome: null };
      const d = node.deployment;
      if (r.type === 'update.progress') d.progress = { phase: r.phase, done: r.done, total: r.total };
      if (r.type === 'update.state') d.state = r.state;
      if (r.type === 'update.outcome') {
        d.state = r.result;
        d.outcome = { result: r.result, log: r.log, ...(r.version ? { version: r.version } : {}), ...(r.code ? { code: r.code } : {}), ...(r.message ? { message: r.message } : {}) };
      }
      return;
    }
    case 'command.result':
      return;
  }
}
