// The network probe reads the kernel's files instead of running systeminformation's shell
// commands: on this machine it must agree with systeminformation, and on a prepared /sys and
// /proc tree it must read speed, type, default route and "virtual" the way the docs say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, type NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import si, { type Systeminformation } from 'systeminformation';
import { readNetInterfaces } from '../../../agent/inventory/net-interfaces.ts';

test('on this machine: the same interfaces, MACs, MTUs, states, speeds and default route as systeminformation', async () => {
  const ours = await readNetInterfaces();
  const theirs = (await si.networkInterfaces() as Systeminformation.NetworkInterfacesData[]).filter((n) => !n.internal);
  assert.deepEqual(ours.map((n) => n.iface), theirs.map((n) => n.iface).sort());
  for (const n of ours) {
    const s = theirs.find((x) => x.iface === n.iface)!;
    assert.equal(n.mac, s.mac && /[1-9a-f]/i.test(s.mac) ? s.mac.toLowerCase() : null, `${n.iface} mac`);
    assert.equal(n.mtu, s.mtu, `${n.iface} mtu`);
    assert.equal(n.operstate, s.operstate, `${n.iface} operstate`);
    assert.equal(n.default, s.default, `${n.iface} default`);
    assert.equal(n.speedMbps, s.speed !== null && s.speed > 0 ? s.speed : null, `${n.iface} speed`);
  }
});

const addr = (address: string, cidr: string, internal = false): NetworkInterfaceInfo =>
  ({ address, cidr, internal, family: address.includes(':') ? 'IPv6' : 'IPv4', netmask: '', mac: '00:00:00:00:00:00', ...(address.includes(':') ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;

test('from prepared kernel files: speed, wireless, bond, virtual, down, no MAC, the lowest-metric default route', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'net-ifaces-'));
  try {
    const sys = join(dir, 'sys');
    const proc = join(dir, 'proc');
    await mkdir(sys);
    await mkdir(proc);
    const iface = async (name: string, under: string, files: Record<string, string>, wireless = false) => {
      const real = join(dir, 'devices', under, 'net', name);
      await mkdir(real, { recursive: true });
      for (const [f, v] of Object.entries(files)) await writeFile(join(real, f), `${v}\n`);
      if (wireless) await mkdir(join(real, 'wireless'));
      await symlink(real, join(sys, name));
    };
    await iface('wlan0', 'pci0000:00/0000:00:14.3', { address: 'AA:BB:CC:00:11:22', operstate: 'up', mtu: '1500' }, true);
    await iface('eth1', 'pci0000:00/0000:00:1f.6', { address: '02:00:00:00:00:01', operstate: 'up', mtu: '9000', speed: '1000' });
    await iface('veth1', 'virtual', { address: '0a:58:0a:f4:00:01', operstate: 'down', mtu: '1500' });
    await iface('bond0', 'virtual', { address: '02:00:00:00:00:02', operstate: 'up', mtu: '1500', speed: '2000' });
    await iface('wg0', 'virtual', { operstate: 'unknown', mtu: '1420' }); // no MAC at all
    const interfaces = {
      lo: [addr('127.0.0.1', '127.0.0.1/8', true)],
      wlan0: [addr('192.168.1.5', '192.168.1.5/24'), addr('fe80::1', 'fe80::1/64')],
      eth1: [addr('10.0.0.5', '10.0.0.5/8')],
      veth1: [addr('10.88.0.1', '10.88.0.1/16')],
      bond0: [addr('172.16.0.2', '172.16.0.2/24')],
      wg0: [addr('10.9.0.1', '10.9.0.1/24')],
    };
    const header = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n';
    await writeFile(join(proc, 'route'), header + [
      'wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0',
      'eth1\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0',
      'bond0\t00000000\t010010AC\t0002\t0\t0\t50\t00000000\t0\t0\t0', // not RTF_UP: not a route in use
      'wlan0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    ].join('\n') + '\n');
    const got = Object.fromEntries((await readNetInterfaces({ sysRoot: sys, procRoot: proc, interfaces })).map((n) => [n.iface, n]));
    assert.deepEqual(Object.keys(got), ['bond0', 'eth1', 'veth1', 'wg0', 'wlan0'], 'loopback left out, sorted');
    assert.deepEqual(got.wlan0, {
      iface: 'wlan0', mac: 'aa:bb:cc:00:11:22', addresses: ['192.168.1.5/24', 'fe80::1/64'], speedMbps: null, operstate: 'up',
      type: 'wireless', mtu: 1500, default: false, virtual: false,
    });
    assert.deepEqual([got.eth1!.type, got.eth1!.speedMbps, got.eth1!.mtu, got.eth1!.default, got.eth1!.virtual], ['wired', 1000, 9000, true, false]);
    assert.deepEqual([got.veth1!.type, got.veth1!.virtual, got.veth1!.default], ['unknown', true, false]);
    assert.deepEqual([got.bond0!.type, got.bond0!.virtual, got.bond0!.speedMbps, got.bond0!.default], ['virtual', true, 2000, false]);
    assert.deepEqual([got.wg0!.mac, got.wg0!.operstate, got.wg0!.type], [null, 'unknown', 'unknown']);
    // No IPv4 default: the IPv6 one (all-zero destination, prefix length 00, RTF_UP) counts; lo's unreachable route does not.
    await writeFile(join(proc, 'route'), header);
    const z = '0'.repeat(32);
    await writeFile(join(proc, 'ipv6_route'), `${z} 00 ${z} 00 fe800000000000000000000000000001 00000400 00000001 00000000 00450003 wlan0\n`
      + `${z} 00 ${z} 00 ${z} ffffffff 00000001 00000000 00200200 lo\n`);
    assert.deepEqual((await readNetInterfaces({ sysRoot: sys, procRoot: proc, interfaces })).filter((n) => n.default).map((n) => n.iface), ['wlan0']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
