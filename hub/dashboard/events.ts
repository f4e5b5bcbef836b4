// The dashboard's live feed: a text/event-stream that says "something changed" at most once per
// `minGapMs`, never once per report, so 10,000 reporting nodes cost the browser one small event
// a second and one refetch of what it shows. The browser reads it with fetch (EventSource cannot
// send the Authorization header).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HubContext } from '../context.ts';

export interface LiveFeed {
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

export function liveFeed(ctx: HubContext, o: { minGapMs?: number; keepAliveMs?: number } = {}): LiveFeed {
  const minGap = o.minGapMs ?? 1000;
  const clients = new Set<ServerResponse>();
  let changes = 0;
  let lastSent = 0;
  let timer: NodeJS.Timeout | null = null;

  const flush = () => {
    timer = null;
    if (!changes) return;
    const data = `event: changed\ndata: ${JSON.stringify({ changes, at: ctx.now() })}\n\n`;
    changes = 0;
    lastSent = Date.now();
    for (const res of clients) res.write(data);
  };
  const changed = () => {
    changes++;
    if (timer || clients.size === 0) return;
    timer = setTimeout(flush, Math.max(0, lastSent + minGap - Date.now()));
  };
  ctx.hooks.reportsApplied.push(changed);
  ctx.hooks.commandAcked.push(changed);
  // Changes made by another hub process or by a rollout step with no report behind it.
  const keepAlive = setInterval(() => {
    changes++;
    flush();
    for (const res of clients) res.write(': keep-alive\n\n');
  }, o.keepAliveMs ?? 5000);
  keepAlive.unref();

  return {
    handle(req, res) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.write(`event: hello\ndata: {}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
    },
    close() {
      clearInterval(keepAlive);
      if (timer) clearTimeout(timer);
      for (const res of clients) res.end();
      clients.clear();
      ctx.hooks.reportsApplied.splice(ctx.hooks.reportsApplied.indexOf(changed), 1);
      ctx.hooks.commandAcked.splice(ctx.hooks.commandAcked.indexOf(changed), 1);
    },
  };
}
