// A loopback HTTP server for one directory of bundles through the reference hub's file handler
// (byte ranges, multipart/byteranges), counting every byte it writes (headers included) and every
// request. It can refuse several ranges per response, or cut the link once after some bytes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { serveFile } from '../../hub/bundles/serve.ts';

export interface RangeServer {
  readonly base: string;
  url(name: string): string;
  /** Bytes written to sockets (headers and bodies) since the last reset. */
  bytes(): number;
  requests(): string[];
  reset(): void;
  set(o: { multiRange?: boolean; cutAfter?: number | null }): void;
  close(): Promise<void>;
}

export async function startRangeServer(dir: string): Promise<RangeServer> {
  let multiRange = true;
  let cutAfter: number | null = null;
  let closedBytes = 0;
  let log: string[] = [];
  const open = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    log.push(req.headers.range ?? 'whole');
    if (cutAfter !== null) {
      const limit = cutAfter;
      cutAfter = null;
      let sent = 0;
      const write = res.write.bind(res) as (c: unknown, ...rest: unknown[]) => boolean;
      res.write = ((chunk: Buffer, ...rest: unknown[]) => {
        sent += chunk.length;
        if (sent > limit) {
          res.socket?.destroy();
          return false;
        }
        return write(chunk, ...rest);
      }) as typeof res.write;
    }
    const name = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice(1));
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/.test(name)) {
      res.writeHead(404).end();
      return;
    }
    void serveFile(join(dir, name), req, res, { multiRange });
  });
  server.on('connection', (s: Socket) => {
    open.add(s);
    s.on('close', () => {
      closedBytes += s.bytesWritten;
      open.delete(s);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    url: (name) => `${base}/${encodeURIComponent(name)}`,
    bytes: () => closedBytes + [...open].reduce((n, s) => n + s.bytesWritten, 0),
    requests: () => log,
    reset: () => {
      closedBytes = -[...open].reduce((n, s) => n + s.bytesWritten, 0);
      log = [];
    },
    set: (o) => {
      if (o.multiRange !== undefined) multiRange = o.multiRange;
      if (o.cutAfter !== undefined) cutAfter = o.cutAfter;
    },
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
