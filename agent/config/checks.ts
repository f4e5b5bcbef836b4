// Everything `outpost run` needs from a config beyond its schema, checked before anything is
// touched: `outpost config` reports every problem, `run` refuses to start on a fatal one (same
// code) and logs the others. Read-only: nothing is created, written or repaired here.
import { access, constants, stat } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { isOutpostError } from '../../shared/errors.ts';
import { openBootEnv, type BootEnvSpec } from '../platform/bootenv/open.ts';
import { bootedSlotDetector } from '../platform/booted-slot.ts';
import { openSlotDevice } from '../platform/slots/slot-device.ts';
import { loadTrustStore } from '../bundle/trust-file.ts';
import { readReleaseFloor } from '../bundle/release-floor.ts';
import { rootPath, stateDir, type Config } from './load.ts';
import type { ErrorCode } from '../../shared/error-codes.ts';
import { DEFAULT_INVENTORY_SCHEDULE } from './sections/inventory.ts';

export interface ConfigProblem {
  code: ErrorCode;
  message: string;
  /**
   * fatal: `run` refuses to start. degraded: `run` starts (hub link, reports, resume and revert
   * go on) but bundles are refused or updates cannot finish. warning: works, with a risk.
   */
  severity: 'fatal' | 'degraded' | 'warning';
}

type Add = (severity: ConfigProblem['severity'], code: ErrorCode, message: string) => void;

const codeOf = (err: unknown, fallback: ErrorCode) => (isOutpostError(err) ? err.code : fallback);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function readable(path: string): Promise<string | null> {
  try {
    await access(path, constants.R_OK);
    return null;
  } catch (err) {
    return messageOf(err);
  }
}

function checkUrl(add: Add, key: string, value: string, schemes: readonly string[], codes: { syntax: ErrorCode; scheme: ErrorCode }): URL | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    add('fatal', codes.syntax, `${key} is not an absolute URL: ${JSON.stringify(value)}`);
    return null;
  }
  if (!schemes.includes(u.protocol)) {
    add('fatal', codes.scheme, `${key} must start with ${schemes.map((s) => `${s}//`).join(' or ')}, got ${JSON.stringify(value)}`);
    return null;
  }
  return u;
}

async function checkHub(config: Config, add: Add): Promise<void> {
  const h = config.hub;
  if (h.url !== null) checkUrl(add, 'hub.url', h.url, ['wss:', 'ws:'], { syntax: 'E_HUB_URL', scheme: 'E_HUB_URL' });
  if ((h.certFile === null) !== (h.keyFile === null)) add('fatal', 'E_HUB_TLS_FILE', 'hub.certFile and hub.keyFile go together');
  for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
    const f = h[key];
    const why = f === null ? null : await readable(f);
    if (why) add('fatal', 'E_HUB_TLS_FILE', `hub.${key} ${f}: ${why}`);
  }
  if (h.url?.startsWith('wss:') && h.trustPublicCAs === false && h.caFile === null) {
    add('fatal', 'E_HUB_TRUST', 'hub.trustPublicCAs is false and hub.caFile is null: no CA would be trusted for the hub');
  }
  if (h.proxy !== null && h.proxy !== 'direct') checkUrl(add, 'hub.proxy', h.proxy, ['http:'], { syntax: 'E_HUB_PROXY_URL', scheme: 'E_HUB_PROXY_URL' });
}

async function checkFetch(config: Config, add: Add): Promise<void> {
  const f = config.fetch;
  if (f.proxy !== null && f.proxy !== 'direct') checkUrl(add, 'fetch.proxy', f.proxy, ['http:', 'https:'], { syntax: 'E_FETCH_PROXY_URL', scheme: 'E_FETCH_PROXY_URL' });
  if ((f.clientCertFile === null) !== (f.clientKeyFile === null)) add('fatal', 'E_FETCH_TLS_CONFIG', 'fetch.clientCertFile and fetch.clientKeyFile go together');
  for (const key of ['caFile', 'clientCertFile', 'clientKeyFile'] as const) {
    const file = f[key];
    const why = file === null ? null : await readable(rootPath(config, file));
    if (why) add('fatal', 'E_FETCH_TLS_CONFIG', `fetch.${key} ${file}: ${why}`);
  }
}

/**
 * node-cron is loaded only here and in the scheduler, not with the config schema: every command
 * reads the config, and evaluating node-cron cost each `outpost status` several ms for a value
 * only `run` uses. The default needs no check.
 */
async function checkInventorySchedule(config: Config, add: Add): Promise<void> {
  const v = config.inventory.schedule;
  if (v === DEFAULT_INVENTORY_SCHEDULE) return;
  const { default: cron } = await import('node-cron');
  if (!cron.validate(v)) add('fatal', 'E_CONFIG', `config inventory.schedule: not a valid cron expression: ${JSON.stringify(v)}`);
}

async function checkStateDir(config: Config, add: Add): Promise<void> {
  // The nearest existing directory must be writable: `run` creates the rest.
  let dir = stateDir(config);
  for (;;) {
    const st = await stat(dir).catch(() => null);
    if (st) {
      if (!st.isDirectory()) return add('fatal', 'E_STATE_DIR', `core.stateDir: ${dir} is not a directory`);
      const why = await access(dir, constants.W_OK | constants.X_OK).then(() => null, messageOf);
      if (why) add('fatal', 'E_STATE_DIR', `core.stateDir: cannot write in ${dir}: ${why}`);
      return;
    }
    if (dirname(dir) === dir) return;
    dir = dirname(dir);
  }
}

async function checkSlots(config: Config, add: Add): Promise<void> {
  const u = config.update;
  const paths = new Map<string, string>();
  const sizes = new Map<string, Array<[string, number]>>();
  for (const s of u.slots) {
    const path = rootPath(config, s.path);
    const other = paths.get(path);
    if (other) add('fatal', 'E_SLOT_SAME', `update.slots: ${other} and ${s.name} are the same ${path}: an update would overwrite the running slot`);
    paths.set(path, s.name);
    try {
      const size = await openSlotDevice({ name: s.name, slotClass: s.class, path }).size();
      if (size === 0) add('fatal', 'E_SLOT_SIZE', `slot ${s.name} (${path}) has no room (size 0)`);
      sizes.set(s.class, [...(sizes.get(s.class) ?? []), [s.name, size]]);
    } catch (err) {
      add('fatal', codeOf(err, 'E_SLOT_OPEN'), `update.slots ${s.name}: ${messageOf(err)}`);
    }
  }
  for (const [cls, list] of sizes) {
    const distinct = new Set(list.map(([, n]) => n));
    if (distinct.size > 1) {
      add('fatal', 'E_SLOT_SIZE', `slot class ${cls}: slots differ in size (${list.map(([n, b]) => `${n} ${b} bytes`).join(', ')}); a bundle that fits one may not fit the other`);
    }
  }
}

function bootEnvSpec(config: Config): BootEnvSpec {
  const b = config.update.bootEnv;
  if (b.kind === 'grub') return { kind: 'grub', path: rootPath(config, b.path!) };
  if (b.kind === 'uboot') return { kind: 'uboot', configPath: rootPath(config, b.config!) };
  return { kind: 'fw-tool', configPath: rootPath(config, b.config!) };
}

async function checkBoot(config: Config, add: Add): Promise<void> {
  const u = config.update;
  try {
    await (await openBootEnv(bootEnvSpec(config))).read();
  } catch (err) {
    add('fatal', codeOf(err, 'E_BOOTENV_IO'), `update.bootEnv: ${messageOf(err)}`);
  }
  const slots = u.slots.map((s) => ({ name: s.name, path: rootPath(config, s.path) }));
  try {
    const booted = await bootedSlotDetector({ source: u.bootedSlot.source, path: rootPath(config, u.bootedSlot.path), slots }).booted();
    if (booted === null) add('degraded', 'E_BOOTED_SLOT', `update.bootedSlot: ${u.bootedSlot.path} names none of the slots ${slots.map((s) => s.name).join(', ')}`);
  } catch (err) {
    add('degraded', codeOf(err, 'E_BOOTED_SLOT'), `update.bootedSlot: ${messageOf(err)}`);
  }
}

async function findCommand(file: string): Promise<boolean> {
  const candidates = isAbsolute(file) || file.includes('/') ? [file] : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).map((d) => join(d, file));
  for (const c of candidates) if (await access(c, constants.X_OK).then(() => true, () => false)) return true;
  return false;
}

async function checkCommands(config: Config, add: Add): Promise<void> {
  const u = config.update;
  const reboot = u.rebootCommand[0];
  if (reboot === undefined) add('fatal', 'E_CONFIG_COMMAND', 'update.rebootCommand is empty');
  else if (!(await findCommand(reboot))) add('degraded', 'E_CONFIG_COMMAND', `update.rebootCommand: ${reboot} is not an executable here; updates cannot reboot the node`);
  for (const c of u.healthChecks) {
    if (!(await findCommand(c.command))) add('degraded', 'E_CONFIG_COMMAND', `update.healthChecks ${c.name}: ${c.command} is not an executable here; every update would roll back`);
  }
}

async function checkPolicy(config: Config, add: Add): Promise<void> {
  const b = config.bundle;
  try {
    await loadTrustStore(rootPath(config, b.trustStore));
  } catch (err) {
    add('degraded', codeOf(err, 'E_TRUST_READ'), `bundle.trustStore: ${messageOf(err)}; every bundle is refused until it is fixed`);
  }
  try {
    await readReleaseFloor(rootPath(config, b.floorFile));
  } catch (err) {
    add('degraded', codeOf(err, 'E_FLOOR_READ'), `bundle.floorFile: ${messageOf(err)}; every bundle is refused until it is fixed`);
  }
  if (b.compatible.length === 0) {
    add('warning', 'W_COMPATIBLE_EMPTY', 'bundle.compatible is empty: any bundle signed by a trusted key installs here, even one built for other hardware (a wrong image can leave the node unbootable); list this board\'s compatible string');
  }
}

/** Every problem found, fatal ones first. */
export async function checkConfig(config: Config): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const add: Add = (severity, code, message) => {
    problems.push({ severity, code, message });
  };
  await checkStateDir(config, add);
  await checkHub(config, add);
  await checkFetch(config, add);
  await checkInventorySchedule(config, add);
  if (config.update.slots.length > 0) {
    await checkSlots(config, add);
    await checkBoot(config, add);
    await checkCommands(config, add);
    await checkPolicy(config, add);
  }
  const rank = { fatal: 0, degraded: 1, warning: 2 } as const;
  return problems.sort((a, b) => rank[a.severity] - rank[b.severity]);
}
