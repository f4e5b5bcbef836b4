// Test helper: a real gpsd fed by gpsfake from an NMEA log, on a free loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { START, scenarios } from '../../../scripts/make-nmea.ts';

export const NMEA_DIR = join(import.meta.dirname, '../../fixtures/nmea');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Gpsfake {
  readonly proc: ChildProcess;
  /** Resolves when gpsfake has exited (after stop()). */
  readonly exited: Promise<void>;
  stop(): Promise<void>;
  stderr(): string;
}

/** Receiver time of the last epoch in a fixture log: once a client saw it, the log was replayed. */
export function lastEpochMs(log: string): number {
  const epochs = scenarios()[log];
  if (!epochs) throw new Error(`no scenario ${log}`);
  return START + (epochs.length - 1) * 1000;
}

/** gpsfake replaying `log` at 0.1 s per sentence, in a loop: spawned once (see startGpsfake). */
function spawnGpsfake(log: string, port: number): Gpsfake {
  const args = ['-P', String(port), '-c', '0.1', '-n', '-q', join(NMEA_DIR, log)];
  const proc = spawn('gpsfake', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  return {
    proc,
    exited,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM'); // gpsfake stops its gpsd on SIGTERM
        const hard = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(hard);
      }
    },
  };
}

/** True when nothing listens on `port` (gpsd may outlive gpsfake for a moment after SIGTERM). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** True when something accepts a connection on the loopback `port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ port, host: '127.0.0.1', timeout: 2_000 });
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.once('connect', () => done(true));
    c.once('timeout', () => done(false));
    c.once('error', () => done(false));
  });
}

/**
 * True when the gpsd on `port` lists a device (`?DEVICES;`). gpsfake adds its pty through gpsd's
 * control socket once that socket's file exists; a connect that comes between gpsd's bind and
 * listen is refused, and gpsfake ignores that: its gpsd then listens with no device and never
 * reports a fix. Seen on a loaded CI machine; reproduced by delaying gpsd's listen().
 */
function hasDevice(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ port, host: '127.0.0.1' });
    let buf = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      c.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2_000);
    c.once('connect', () => c.write('?DEVICES;'));
    c.once('error', () => done(false));
    c.on('data', (b: Buffer) => {
      buf += b.toString('latin1');
      for (const line of buf.split('\n')) {
        if (!line.includes('"class":"DEVICES"')) continue;
        try {
          done(((JSON.parse(line) as { devices?: unknown[] }).devices?.length ?? 0) > 0);
        } catch {
          // a DEVICES line still arriving: wait for its end
        }
        return;
      }
    });
  });
}

/**
 * Replays `log` (a file name under test/fixtures/nmea) at 0.1 s per sentence, in a loop, through
 * gpsfake's gpsd on `port`. (gpsfake's single-shot mode waits 60 s for gpsd after the log ends,
 * so tests watch for the last epoch instead, see lastEpochMs.) Resolves once that gpsd listens.
 * It waits for the port to be free first (an earlier gpsd may outlive its gpsfake for a moment),
 * and starts gpsfake again if it dies before listening (its gpsd could not bind) or if its gpsd
 * never gets the device (see hasDevice): on a loaded box all of these happen.
 */
export async function startGpsfake(log: string, port: number): Promise<Gpsfake> {
  // one deadline for every attempt, well inside the tests' own timeouts: this error says why
  const deadline = Date.now() + 120_000;
  const late = (why: string) => Date.now() > deadline && new Error(`gpsfake on port ${port}: ${why}`);
  for (let attempt = 0; ; attempt++) {
    while (!(await portFree(port))) {
      const err = late('the port is still busy');
      if (err) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
    const fake = spawnGpsfake(log, port);
    let dead = false;
    void fake.exited.then(() => (dead = true));
    while (!dead && !(await listening(port))) {
      const err = late(`its gpsd never listened: ${fake.stderr()}`);
      if (err) {
        await fake.stop();
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // gpsfake adds the device about 0.1 s after gpsd starts: 10 s is generous even when loaded
    const deviceBy = Date.now() + 10_000;
    let ready = false;
    while (!dead && !(ready = await hasDevice(port)) && Date.now() < deviceBy) await new Promise((r) => setTimeout(r, 100));
    if (ready) return fake;
    await fake.stop();
    const why = dead ? 'it exited' : 'its gpsd never got the device';
    const err = attempt >= 4 ? new Error(`gpsfake on port ${port}, ${attempt + 1} attempts: ${why}: ${fake.stderr()}`) : late(`${why}: ${fake.stderr()}`);
    if (err) throw err;
  }
}
