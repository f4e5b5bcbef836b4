// RAUC as the peer of the install bench: Debian's `rauc` service on a private system bus, a
// plain bundle of the same image signed with a throwaway certificate, and a raw slot on the same
// loop disk. The install work happens in the service, so its CPU time and memory are what is
// measured (wall time is the client's). Anything missing → ok: false with the reason.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { linkSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds, pollPeak, measure, type Sample } from './measure.ts';

const COMPATIBLE = 'outpost-bench';

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

const BUS_CONFIG = (socket: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
`;

export class RaucPeer {
  readonly ok: boolean;
  readonly why: string;
  readonly #children: ChildProcess[];
  readonly #bundle: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #service: ChildProcess | null;

  private constructor(ok: boolean, why: string, children: ChildProcess[] = [], bundle = '', env: NodeJS.ProcessEnv = {}, service: ChildProcess | null = null) {
    this.ok = ok;
    this.why = why;
    this.#children = children;
    this.#bundle = bundle;
    this.#env = env;
    this.#service = service;
  }

  static async start(dir: string, image: string, target: string, booted: string): Promise<RaucPeer> {
    const missing = ['rauc', 'mksquashfs', 'dbus-daemon', 'openssl'].filter((t) => !have(t));
    if (missing.length > 0) return new RaucPeer(false, `${missing.join(', ')} not installed (apt-get install rauc squashfs-tools dbus)`);
    const children: ChildProcess[] = [];
    try {
      mkdirSync(join(dir, 'content'), { recursive: true });
      mkdirSync(join(dir, 'mnt'), { recursive: true });
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=outpost-bench', '-days', '2']);
      const img = join(dir, 'content', 'rootfs.img');
      try {
        linkSync(image, img);
      } catch {
        copyFileSync(image, img);
      }
      writeFileSync(join(dir, 'content', 'manifest.raucm'), `[update]\ncompatible=${COMPATIBLE}\nversion=2.0.0\n\n[bundle]\nformat=plain\n\n[image.rootfs]\nfilename=rootfs.img\n`);
      const bundle = join(dir, 'bench.raucb');
      run('rauc', ['bundle', '--cert', cert, '--key', key, join(dir, 'content'), bundle]);
      const conf = join(dir, 'system.conf');
      writeFileSync(conf, [
        '[system]', `compatible=${COMPATIBLE}`, 'bootloader=noop', `mountprefix=${join(dir, 'mnt')}`, '',
        '[keyring]', `path=${cert}`, '',
        '[slot.rootfs.0]', `device=${booted}`, 'type=raw', 'bootname=A', '',
        '[slot.rootfs.1]', `device=${target}`, 'type=raw', 'bootname=B', '',
      ].join('\n'));
      const socket = join(dir, 'bus.sock');
      writeFileSync(join(dir, 'bus.conf'), BUS_CONFIG(socket));
      const bus = spawn('dbus-daemon', ['--config-file', join(dir, 'bus.conf'), '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(bus);
      const address = await new Promise<string>((resolve, reject) => {
        createInterface({ input: bus.stdout! }).once('line', resolve);
        bus.once('exit', (c) => reject(new Error(`dbus-daemon exited ${c}`)));
      });
      const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address };
      const service = spawn('rauc', ['service', `--conf=${conf}`, '--override-boot-slot=A'], { stdio: ['ignore', 'ignore', 'pipe'], env });
      let log = '';
      service.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
      children.push(service);
      for (let i = 0; ; i++) {
        if (spawnSync('rauc', ['status'], { env }).status === 0) break;
        if (i > 200 || service.exitCode !== null) throw new Error(`rauc service did not come up: ${log}`);
        await sleep(50);
      }
      return new RaucPeer(true, '', children, bundle, env, service);
    } catch (err) {
      for (const c of children) c.kill();
      return new RaucPeer(false, `cannot set RAUC up here: ${(err as Error).message}`);
    }
  }

  /** `rauc install`: the client's wall time, the service's CPU time and peak memory. */
  async install(): Promise<Sample> {
    const pid = this.#service!.pid!;
    const cpu0 = cpuSeconds(pid);
    const poll = pollPeak(() => [pid]);
    const client = await measure(['rauc', 'install', this.#bundle], this.#env);
    const peak = poll.stop();
    return { wallS: client.wallS, cpuS: cpuSeconds(pid) - cpu0 + client.cpuS, peakAnonKiB: peak };
  }

  async stop(): Promise<void> {
    for (const c of this.#children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill();
      await gone;
    }
  }
}
