// A gpsd client over its JSON protocol on TCP: sends WATCH, parses TPV/SKY line by line (bounded
// lines), and reconnects with exponential backoff and full jitter whenever gpsd goes away.
import { connect, type Socket } from 'node:net';
import { fullJitterDelay } from '../lib/backoff.ts';
import type { Logger } from '../log/logger.ts';
import { LineSplitter } from './line-splitter.ts';
import { parseGpsdLine, type GpsdMessage } from './gpsd-messages.ts';

export const WATCH_COMMAND = '?WATCH={"enable":true,"json":true};\n';

export interface GpsdClientOptions {
  host: string;
  port: number;
  logger: Logger;
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  /** gpsd's longest reports (SKY with many satellites) are a few KiB. */
  maxLineLength?: number;
  /** A connect attempt that takes longer than this is abandoned. */
  connectTimeoutMs?: number;
}

export type GpsdStatus = { connected: boolean; connects: number };

export class GpsdClient {
  readonly #o: Required<Omit<GpsdClientOptions, 'logger'>> & { logger: Logger };
  readonly #messageListeners = new Set<(m: GpsdMessage) => void>();
  readonly #statusListeners = new Set<(s: GpsdStatus) => void>();
  #socket: Socket | null = null;
  #timer: NodeJS.Timeout | null = null;
  #attempt = 0;
  #connects = 0;
  #connected = false;
  #signal: AbortSignal | null = null;
  #warned = false;

  constructor(o: GpsdClientOptions) {
    this.#o = { reconnectBaseMs: 500, reconnectCapMs: 60_000, maxLineLength: 32 * 1024, connectTimeoutMs: 10_000, ...o };
  }

  get status(): GpsdStatus {
    return { connected: this.#connected, connects: this.#connects };
  }

  onMessage(listener: (m: GpsdMessage) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  onStatus(listener: (s: GpsdStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Connects and keeps reconnecting until `signal` aborts. */
  start(signal: AbortSignal): void {
    if (this.#signal) throw new Error('GpsdClient already started');
    this.#signal = signal;
    signal.addEventListener('abort', () => this.#stop(), { once: true });
    if (!signal.aborted) this.#connect();
  }

  #connect(): void {
    this.#timer = null;
    const log = this.#o.logger;
    const socket = connect({ host: this.#o.host, port: this.#o.port });
    this.#socket = socket;
    const lines = new LineSplitter(this.#o.maxLineLength);
    socket.setEncoding('utf8');
    socket.setKeepAlive(true, 30_000);
    socket.setTimeout(this.#o.connectTimeoutMs, () => socket.destroy(new Error('connect timeout')));
    socket.on('connect', () => {
      socket.setTimeout(0);
      this.#connects++;
      this.#setConnected(true);
      this.#warned = false;
      log.info('gpsd connected', { host: this.#o.host, port: this.#o.port });
      socket.write(WATCH_COMMAND);
    });
    socket.on('data', (chunk: string) => {
      const before = lines.dropped;
      for (const line of lines.push(chunk)) {
        const m = parseGpsdLine(line);
        if (!m) continue;
        this.#attempt = 0; // gpsd is really talking to us: the backoff starts over
        for (const l of this.#messageListeners) l(m);
      }
      if (lines.dropped > before) log.warn('gpsd line too long, dropped', { maxLineLength: this.#o.maxLineLength });
    });
    socket.on('error', (err) => {
      // The first failure of a streak is worth a warning; the rest of it is noise.
      if (!this.#warned) log.warn('gpsd connection failed', { err: err.message, host: this.#o.host, port: this.#o.port });
      else log.debug('gpsd connection failed', { err: err.message });
      this.#warned = true;
    });
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = null;
      this.#setConnected(false);
      if (this.#signal?.aborted) return;
      const delay = fullJitterDelay(this.#attempt++, { baseMs: this.#o.reconnectBaseMs, capMs: this.#o.reconnectCapMs });
      this.#timer = setTimeout(() => this.#connect(), delay);
    });
  }

  #setConnected(c: boolean): void {
    if (this.#connected === c) return;
    this.#connected = c;
    for (const l of this.#statusListeners) l(this.status);
  }

  #stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#socket?.destroy();
    this.#socket = null;
  }
}
