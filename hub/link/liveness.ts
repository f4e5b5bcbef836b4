// Dead-link detection on the hub side. Only the agent sends heartbeats (a websocket ping every
// hub.pingIntervalMs, 60 s by default); the hub answers them (ws does so automatically) and drops
// a link it has heard nothing from, ping or message, for `timeoutMs`. One heartbeat per link
// instead of one from each side halves the idle traffic.
import type WebSocket from 'ws';

export class LinkLiveness {
  #heard = new Map<WebSocket, number>();
  #timer: NodeJS.Timeout;
  #timeoutMs: number;
  #now: () => number;

  constructor(timeoutMs: number, now: () => number = Date.now) {
    this.#timeoutMs = timeoutMs;
    this.#now = now;
    // Checked at a tenth of the timeout: a dead link is dropped within 1.1 x timeoutMs.
    this.#timer = setInterval(() => this.#sweep(), Math.max(50, Math.floor(timeoutMs / 10)));
    this.#timer.unref();
  }

  watch(ws: WebSocket): void {
    const heard = () => this.#heard.set(ws, this.#now());
    heard();
    ws.on('ping', heard);
    ws.on('message', heard);
    ws.once('close', () => this.#heard.delete(ws));
  }

  #sweep(): void {
    const limit = this.#now() - this.#timeoutMs;
    for (const [ws, at] of this.#heard) {
      if (at < limit) {
        this.#heard.delete(ws);
        ws.terminate();
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
