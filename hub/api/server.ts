// The operator API's HTTP layer: every request needs an operator token in the Authorization
// header (never a cookie, so a browser cannot attach it to a cross-site request); a request
// carrying an Origin that is not explicitly allowed is refused; a request that can change state
// must declare a JSON body (Content-Type: application/json), which a cross-site HTML form or a
// "simple" fetch cannot send without a preflight this server never answers. Bound to 127.0.0.1
// by default (hub/cli/serve.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, type RouteRegistry } from './routes.ts';
import type { Logger } from '../../agent/log/logger.ts';

export interface ApiServerOptions {
  routes: RouteRegistry;
  /** The operator behind a bearer token, or null when it is unknown or revoked. */
  authenticate: (token: string) => Promise<{ id: string; name: string } | null>;
  /** Origins allowed to call (e.g. an operator dashboard); empty: no browser origin at all. */
  allowedOrigins: readonly string[];
  log: Logger;
}

const MAX_BODY = 256 * 1024;
const SAFE = new Set(['GET', 'HEAD']);

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'E_API_BODY', `body larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  if (!chunks.length) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch {
    throw new ApiError(400, 'E_API_REQUEST', 'body must be a JSON object');
  }
}

export function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(JSON.stringify(value, null, 2) + '\n');
}

/** True when `origin` is this server's own (a page it served itself, e.g. the dashboard). */
function sameOrigin(req: IncomingMessage, origin: string): boolean {
  return req.headers.host !== undefined && origin === `http://${req.headers.host}`;
}

/**
 * The operator behind a request, or an ApiError: origin allowed, bearer token valid, and a JSON
 * body declared on anything that can change state. Shared by the JSON routes and the dashboard's
 * event stream.
 */
export async function checkOperator(o: Pick<ApiServerOptions, 'authenticate' | 'allowedOrigins'>, req: IncomingMessage): Promise<{ id: string; name: string }> {
  const origin = req.headers.origin;
  if (origin !== undefined && !o.allowedOrigins.includes(origin) && !sameOrigin(req, origin)) {
    throw new ApiError(403, 'E_API_ORIGIN', `requests from origin ${origin.slice(0, 100)} are not allowed`);
  }
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{16,200})$/.exec(req.headers.authorization ?? '');
  const operator = m ? await o.authenticate(m[1]!) : null;
  if (!operator) throw new ApiError(401, 'E_API_AUTH', 'an operator token is required (Authorization: Bearer …)');
  if (!SAFE.has(req.method ?? '')) {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new ApiError(415, 'E_API_CONTENT_TYPE', 'state-changing requests need Content-Type: application/json');
  }
  return operator;
}

export function createApiHandler(o: ApiServerOptions) {
  const check = (req: IncomingMessage) => checkOperator(o, req);

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const operator = await check(req);
      const m = o.routes.match(req.method ?? 'GET', url.pathname);
      if (m === null) throw new ApiError(404, 'E_API_NOT_FOUND', `no endpoint ${url.pathname}`);
      if (m === 'method') throw new ApiError(405, 'E_API_METHOD', `${req.method} is not allowed on ${url.pathname}`);
      const body = SAFE.has(req.method ?? '') ? {} : await readBody(req);
      send(res, 200, await m.handler({ params: m.params, query: url.searchParams, body, operator }));
    } catch (err) {
      if (err instanceof ApiError) return send(res, err.status, { code: err.code, error: err.message });
      o.log.error('operator API request failed', { err, path: req.url });
      send(res, 500, { code: 'E_API_INTERNAL', error: 'internal error (logged)' });
    }
  };
}
