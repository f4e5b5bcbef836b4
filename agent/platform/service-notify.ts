// systemd service notifications (READY, STATUS, STOPPING, WATCHDOG) without a native module.
// sd_notify is one datagram to the unix socket in $NOTIFY_SOCKET, and Node has no unix datagram
// sockets, so each notification runs systemd-notify. `--pid=<agent pid>` makes the message carry
// the agent's pid (root may set it in the socket credentials), so systemd attributes it to the
// main process even after the short-lived helper is gone. A ping costs one small process spawn
// every WatchdogSec/2 (30 s by default): negligible next to the agent's idle work.
import type { CommandRunner } from './types.ts';
import type { Logger } from '../log/logger.ts';
import { OutpostError } from '../../shared/errors.ts';

/** What systemd passes to a service; parsed from the environment by agent/config/. */
export interface ServiceEnv {
  /** $NOTIFY_SOCKET: a path, or "@name" for an abstract socket; null when not under systemd. */
  notifySocket: string | null;
  /** $WATCHDOG_USEC when $WATCHDOG_PID is absent or this process; 0 = no watchdog. */
  watchdogUsec: number;
}

/** Turns the raw variables into a ServiceEnv; agent/config/ hands them in (it alone reads the environment). */
export function parseServiceEnv(env: Readonly<Record<string, string | undefined>>, pid: number): ServiceEnv {
  const usec = Number(env.WATCHDOG_USEC ?? '0');
  const forPid = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === pid;
  return {
    notifySocket: env.NOTIFY_SOCKET ? env.NOTIFY_SOCKET : null,
    watchdogUsec: forPid && Number.isSafeInteger(usec) && usec > 0 ? usec : 0,
  };
}

export interface ServiceNotifierOptions {
  env: ServiceEnv;
  runner: CommandRunner;
  log: Logger;
  /** The main process the notifications speak for (process.pid in the agent). */
  pid: number;
  /** Helper that sends the datagram (default: systemd-notify on PATH). */
  command?: string;
}

export interface ServiceNotifier {
  /** True under systemd with a notify socket; every method is a no-op otherwise. */
  readonly enabled: boolean;
  /** Start-up finished: systemd marks the unit active (Type=notify). */
  ready(status?: string): Promise<void>;
  status(text: string): Promise<void>;
  stopping(): Promise<void>;
  /**
   * Pings WATCHDOG=1 every WatchdogSec/2 until `signal` aborts. Pings come from a timer on the
   * event loop, so an agent whose loop is stuck stops pinging and systemd restarts it.
   */
  startWatchdog(signal: AbortSignal): void;
}

const SEND_TIMEOUT_MS = 10_000;

// One line per assignment; systemd rejects a datagram whose value contains a newline.
const clean = (s: string) => s.replace(/[\r\n]+/g, ' ').slice(0, 512);

export function createServiceNotifier(opts: ServiceNotifierOptions): ServiceNotifier {
  const socket = opts.env.notifySocket;
  const command = opts.command ?? 'systemd-notify';
  const log = opts.log.child('service-notify');

  async function send(assignments: string[]): Promise<void> {
    if (!socket) return;
    const r = await opts.runner.run(command, [`--pid=${opts.pid}`, ...assignments], {
      env: { NOTIFY_SOCKET: socket },
      timeoutMs: SEND_TIMEOUT_MS,
    });
    if (r.code !== 0) {
      throw new OutpostError('E_SERVICE_NOTIFY', `${command} ${assignments.join(' ')} failed: ${r.timedOut ? 'timed out' : clean(r.stderr) || `exit ${r.code ?? r.signal}`}`, {
        retryable: true,
      });
    }
  }

  return {
    enabled: socket !== null,
    ready: (status) => send(status === undefined ? ['READY=1'] : ['READY=1', `STATUS=${clean(status)}`]),
    status: (text) => send([`STATUS=${clean(text)}`]),
    stopping: () => send(['STOPPING=1']),
    startWatchdog(signal) {
      if (!socket || opts.env.watchdogUsec === 0 || signal.aborted) return;
      const everyMs = Math.max(1, Math.floor(opts.env.watchdogUsec / 2000));
      let inFlight = false;
      const timer = setInterval(() => {
        if (inFlight) return; // a slow helper must not pile up processes
        inFlight = true;
        send(['WATCHDOG=1'])
          .catch((err: unknown) => log.warn('watchdog ping failed', { err }))
          .finally(() => {
            inFlight = false;
          });
      }, everyMs);
      timer.unref(); // pings must not keep a shutting-down agent alive
      signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    },
  };
}
