// A stand-in for systemd's notify socket: a unix datagram socket that reads each sender's
// credentials (SO_PASSCRED), as PID 1 does. python3 because Node cannot receive unix datagrams.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const RECEIVER = `
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = 0
    for lvl, typ, data in anc:
        if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
    print(pid, msg.decode().replace("\\n", "|"), flush=True)
`;

export interface Datagram {
  /** Sender pid from the socket credentials. */
  pid: number;
  /** The KEY=VALUE assignments of one datagram. */
  fields: string[];
}

export interface NotifyReceiver {
  readonly received: Datagram[];
  /** Resolves once `pred` holds for what was received so far. */
  until(pred: (received: Datagram[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startNotifyReceiver(socketPath: string): Promise<NotifyReceiver> {
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await once(lines, 'line')) as [string];
  if (first !== 'listening') throw new Error(`notify receiver said ${first}`);
  const received: Datagram[] = [];
  const waiters = new Set<() => void>();
  lines.on('line', (line: string) => {
    const sp = line.indexOf(' ');
    const payload = line.slice(sp + 1);
    // systemd-notify follows each message with a BARRIER=1 datagram of its own; not ours.
    if (payload === 'BARRIER=1') return;
    received.push({ pid: Number(line.slice(0, sp)), fields: payload.split('|').filter(Boolean) });
    for (const w of waiters) w();
  });
  return {
    received,
    until(pred, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred(received)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`notify receiver: condition not met in ${timeoutMs} ms; got ${JSON.stringify(received)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      await gone;
    },
  };
}
