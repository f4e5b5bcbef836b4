// A real forward proxy on 127.0.0.1: CONNECT tunnels for https, absolute-form GET for http.
// Counts what it relayed so tests can tell proxied requests from direct ones.
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface TestProxy {
  url: string;
  tunnels: string[];
  forwarded: string[];
  auth: Array<string | undefined>;
  close(): Promise<void>;
}

export async function startProxy(): Promise<TestProxy> {
  const tunnels: string[] = [];
  const forwarded: string[] = [];
  const auth: Array<string | undefined> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    forwarded.push(req.url ?? '');
    auth.push(req.headers['proxy-authorization']);
    const target = new URL(req.url ?? '');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const up = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connect', (req, client: Socket, head) => {
    tunnels.push(req.url ?? '');
    auth.push(req.headers['proxy-authorization']);
    sockets.add(client);
    const [host, port] = (req.url ?? '').split(':');
    const up = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    const end = () => {
      up.destroy();
      client.destroy();
    };
    up.on('error', end);
    client.on('error', end);
    up.on('close', end);
    client.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://user:secret@127.0.0.1:${port}`,
    tunnels,
    forwarded,
    auth,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
