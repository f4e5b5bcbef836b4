// Keeps one outbound websocket to the hub alive: dial, heartbeat (terminate when silent),
// run a session, then redial after exponential backoff with full jitter (reset after a stable
// period) or after the delay the hub asked for. Never listens on anything.
import WebSocket, { type ClientOptions } from 'ws';
import { fullJitterDelay } from '../lib/backoff.ts';
import type { Logger } from '../log/logger.ts';
import type { HubSession, SessionEnd } from './session.ts';

export type LinkStatus = 'connecting' | 'authenticated' | 'disconnected';

export interface LinkOptions {
  url: string;
  clientOptions: ClientOptions;
  session: (ws: WebSocket) => HubSession;
  backoffBaseMs: number;
  backoffCapMs: number;
  stableAfterMs: number;
  pingIntervalMs: number;
  log: Logger;
  onStatus?: (s: LinkStatus) => void;
  random?: () => number;
  now?: () => number;
}

type Attempt = SessionEnd | { kind: 'failed'; message: string };

/** Delay before the next dial, from how the last attempt ended. */
export function redialDelay(end: Attempt, attempt: number, o: Pick<LinkOptions, 'backoffBaseMs' | 'backoffCapMs'>, random: () => number): number {
  const jitter = fullJitterDelay(attempt, { baseMs: o.backoffBaseMs, capMs: o.backoffCapMs, random });
  switch (end.kind) {
    case 'backoff':
      // The hub's admission control tells every node it turns away the same interval: spread
      // uniformly over all of it (plus our own minimum), so the returns arrive at an even rate
      // instead of together at its end (PROTOCOL.md, admission control).
      return Math.floor(random() * end.retryAfterS * 1000) + o.backoffBaseMs;
    case 'pending':
      // An operator has not accepted us yet: the hint is a floor, jitter keeps the retries apart.
      return end.retryAfterS * 1000 + jitter;
    case 'rejected':
      return o.backoffCapMs + jitter;
    default:
      return jitter;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class HubLink {
  #o: LinkOptions;
  #random: () => number;
  #now: () => number;
  #ws: WebSocket | null = null;
  #session: HubSession | null = null;
  #pongWaiters = new Set<() => void>();

  constructor(options: LinkOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  isAuthenticated(): boolean {
    return this.#session?.authenticated === true && this.#ws?.readyState === WebSocket.OPEN;
  }

  /** True when authenticated and the hub answers a ping within `deadlineMs`. */
  ping(deadlineMs: number, signal?: AbortSignal): Promise<boolean> {
    const ws = this.#ws;
    if (!ws || !this.isAuthenticated()) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.#pongWaiters.delete(onPong);
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onPong = () => finish(true);
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), deadlineMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pongWaiters.add(onPong);
      ws.ping();
    });
  }

  /** Runs until `signal` aborts; closes the socket cleanly on the way out. */
  async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      const started = this.#now();
      this.#o.onStatus?.('connecting');
      const end = await this.#connectOnce(signal);
      this.#o.onStatus?.('disconnected');
      if (signal.aborted) break;
      const wasUp = (end.kind === 'closed' || end.kind === 'backoff') && end.authenticated;
      if (wasUp && this.#now() - started >= this.#o.stableAfterMs) attempt = 0;
      const delay = redialDelay(end, attempt, this.#o, this.#random);
      attempt = wasUp && this.#now() - started >= this.#o.stableAfterMs ? 1 : attempt + 1;
      this.#o.log.info('hub link down, redialling', { end: end.kind, ...('message' in end ? { reason: end.message } : {}), delayMs: delay, attempt });
      await sleep(delay, signal);
    }
  }

  #connectOnce(signal: AbortSignal): Promise<Attempt> {
    return new Promise((resolve) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.#o.url, this.#o.clientOptions);
      } catch (err) {
        return resolve({ kind: 'failed', message: (err as Error).message });
      }
      let lastError = 'connection closed before open';
      let opened = false;
      let lastHeard = this.#now();
      let beat: NodeJS.Timeout | null = null;
      const heard = () => {
        lastHeard = this.#now();
      };
      const onAbort = () => ws.close(1001, 'agent shutting down');
      signal.addEventListener('abort', onAbort, { once: true });
      ws.on('error', (err) => {
        lastError = err.message;
        this.#o.log.debug('hub socket error', { err });
      });
      ws.on('pong', () => {
        heard();
        for (const w of [...this.#pongWaiters]) w();
      });
      ws.on('ping', heard);
      ws.on('message', heard);
      ws.once('close', () => {
        if (beat) clearInterval(beat);
        signal.removeEventListener('abort', onAbort);
        if (this.#ws === ws) {
          this.#ws = null;
        }
        if (!opened) resolve({ kind: 'failed', message: lastError });
      });
      ws.once('open', () => {
        opened = true;
        this.#ws = ws;
        const session = this.#o.session(ws);
        this.#session = session;
        beat = setInterval(() => {
          if (this.#now() - lastHeard > 2 * this.#o.pingIntervalMs) {
            this.#o.log.warn('hub link silent, terminating', { silentMs: this.#now() - lastHeard });
            ws.terminate();
          } else ws.ping();
        }, this.#o.pingIntervalMs);
        beat.unref();
        session.run(() => this.#o.onStatus?.('authenticated')).then((end) => {
          if (this.#session === session) this.#session = null;
          resolve(end);
        });
      });
    });
  }
}
