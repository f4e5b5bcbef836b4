// A small route registry for the operator API: each feature (nodes, commands, bundles, rollouts)
// adds its routes in its own file, and the server only matches and runs them. Patterns are
// `METHOD /path/:param`; the first match wins.
import { OutpostError, type ErrorCode } from '../../shared/errors.ts';

export interface ApiRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON body (an object; {} when there was none). */
  body: Record<string, unknown>;
  /** The operator token that authorised the request (its id and name, never the secret). */
  operator: { id: string; name: string };
}

export type Handler = (req: ApiRequest) => Promise<unknown>;

/** A refusal with an HTTP status and a stable code (documented in docs/hub.md). */
export class ApiError extends OutpostError {
  readonly status: number;
  constructor(status: number, code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'ApiError';
    this.status = status;
  }
}

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export class RouteRegistry {
  #routes: Route[] = [];

  /** `add('GET /admin/nodes/:ref', handler)`. */
  add(pattern: string, handler: Handler): this {
    const [method, path] = pattern.split(' ');
    if (!method || !path?.startsWith('/')) throw new Error(`bad route pattern ${pattern}`);
    this.#routes.push({ method, parts: path.split('/').slice(1), handler });
    return this;
  }

  /** Adds every route of a feature module: `registry.addAll(nodeRoutes(ctx))`. */
  addAll(routes: Record<string, Handler>): this {
    for (const [pattern, handler] of Object.entries(routes)) this.add(pattern, handler);
    return this;
  }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method' | null {
    const parts = path.split('/').slice(1);
    let pathMatched = false;
    for (const r of this.#routes) {
      if (r.parts.length !== parts.length) continue;
      const params: Record<string, string> = {};
      if (!r.parts.every((p, i) => (p.startsWith(':') ? ((params[p.slice(1)] = decodeURIComponent(parts[i]!)), true) : p === parts[i]))) continue;
      if (r.method === method) return { handler: r.handler, params };
      pathMatched = true;
    }
    return pathMatched ? 'method' : null;
  }

  list(): string[] {
    return this.#routes.map((r) => `${r.method} /${r.parts.join('/')}`);
  }
}
