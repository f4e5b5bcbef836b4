// The operator API as the page calls it: the token travels only in the Authorization header
// (kept in sessionStorage for this tab), bodies are JSON. A 401 signs the page out.
const KEY = 'outpost-hub-token';

export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t: string) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

let onUnauthorized: () => void = () => {};
export function whenSignedOut(f: () => void): void {
  onUnauthorized = f;
}

export async function api<T = unknown>(path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token.get() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    throw new ApiFailure(res.status, data.code ?? 'E_HTTP', data.error ?? `HTTP ${res.status}`);
  }
  return data as T;
}

/** Reads the hub's event stream; calls `changed` per event; reconnects with a growing pause. */
export function follow(changed: () => void, status: (s: string) => void, signal: AbortSignal): void {
  let pause = 1000;
  const run = async () => {
    while (!signal.aborted) {
      try {
        const res = await fetch('/admin/events', { headers: { authorization: `Bearer ${token.get() ?? ''}` }, signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        status('live');
        pause = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const event = buf.slice(0, i);
            buf = buf.slice(i + 2);
            if (/^event: changed$/m.test(event)) changed();
          }
        }
      } catch {
        if (signal.aborted) return;
      }
      status('reconnecting…');
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 30_000);
    }
  };
  void run();
}
