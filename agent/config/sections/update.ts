// Keys of the update section: slots, boot environment, reboot, health checks, booted-slot
// detection and the knobs of the update state machine (agent/update/).
import { defineSection, expectObject, field, onlyKeys } from '../schema.ts';

export interface SlotConfig {
  readonly name: string;
  /** Slot class a bundle payload targets, e.g. "rootfs". */
  readonly class: string;
  readonly path: string;
  readonly kind: 'file' | 'block';
}

export interface BootEnvConfig {
  readonly kind: 'grub' | 'uboot' | 'fw_setenv';
  /** grub: the grubenv file. */
  readonly path: string | null;
  /** uboot / fw_setenv: an fw_env.config-style file. */
  readonly config: string | null;
}

export interface HealthCheckConfig {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly timeoutMs: number;
}

export interface BootedSlotConfig {
  /** cmdline: `rauc.slot=`/`outpost.slot=` in `path`; mounts: device of "/" in `path`; file: slot name in `path`. */
  readonly source: 'cmdline' | 'mounts' | 'file';
  readonly path: string;
}

type Obj = Record<string, unknown>;

function str(o: Obj, key: string, opts: { optional?: boolean; pattern?: RegExp } = {}): string {
  const v = o[key];
  if (v === undefined && opts.optional) return '';
  if (typeof v !== 'string' || v === '') throw new Error(`${key}: expected a non-empty string`);
  if (opts.pattern && !opts.pattern.test(v)) throw new Error(`${key}: ${JSON.stringify(v)} must match ${opts.pattern}`);
  return v;
}

function parseSlots(v: unknown): readonly SlotConfig[] {
  if (!Array.isArray(v)) throw new Error('expected an array of slots');
  const seen = new Set<string>();
  const out = v.map((raw, i) => {
    const o = expectObject(raw, `slot [${i}]`);
    onlyKeys(o, ['name', 'class', 'path', 'kind']);
    const name = str(o, 'name', { pattern: /^[A-Za-z0-9_-]{1,32}$/ });
    if (seen.has(name)) throw new Error(`slot name ${name} is used twice`);
    seen.add(name);
    const kind = o.kind ?? 'file';
    if (kind !== 'file' && kind !== 'block') throw new Error(`slot ${name}: kind must be "file" or "block"`);
    return Object.freeze({ name, class: str(o, 'class', { pattern: /^[A-Za-z0-9_.-]{1,64}$/ }), path: str(o, 'path'), kind });
  });
  for (const s of out) {
    if (out.filter((x) => x.class === s.class).length === 1) throw new Error(`slot class ${s.class} needs at least two slots (A/B)`);
  }
  return Object.freeze(out);
}

function parseBootEnv(v: unknown): BootEnvConfig {
  const o = expectObject(v, 'bootEnv');
  onlyKeys(o, ['kind', 'path', 'config']);
  const kind = o.kind;
  if (kind !== 'grub' && kind !== 'uboot' && kind !== 'fw_setenv') throw new Error('kind must be "grub", "uboot" or "fw_setenv"');
  const path = str(o, 'path', { optional: true }) || null;
  const config = str(o, 'config', { optional: true }) || null;
  if (kind === 'grub' && !path) throw new Error('grub needs "path" (the grubenv file)');
  if (kind !== 'grub' && !config) throw new Error(`${kind} needs "config" (an fw_env.config-style file)`);
  return Object.freeze({ kind, path, config });
}

function parseHealthChecks(v: unknown): readonly HealthCheckConfig[] {
  if (!Array.isArray(v)) throw new Error('expected an array of health checks');
  return Object.freeze(
    v.map((raw, i) => {
      const o = expectObject(raw, `health check [${i}]`);
      onlyKeys(o, ['name', 'command', 'args', 'timeoutMs']);
      const args = o.args ?? [];
      if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) throw new Error('args: expected an array of strings');
      const timeoutMs = o.timeoutMs ?? 30_000;
      if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1) throw new Error('timeoutMs: expected a positive integer');
      return Object.freeze({ name: str(o, 'name'), command: str(o, 'command'), args: Object.freeze([...(args as string[])]), timeoutMs });
    }),
  );
}

function parseBootedSlot(v: unknown): BootedSlotConfig {
  const o = expectObject(v, 'bootedSlot');
  onlyKeys(o, ['source', 'path']);
  const source = o.source;
  if (source !== 'cmdline' && source !== 'mounts' && source !== 'file') throw new Error('source must be "cmdline", "mounts" or "file"');
  const def = source === 'cmdline' ? '/proc/cmdline' : source === 'mounts' ? '/proc/mounts' : '';
  const path = str(o, 'path', { optional: true }) || def;
  if (!path) throw new Error('source "file" needs "path"');
  return Object.freeze({ source, path });
}

export const update = defineSection('update', 'Slots, boot environment, install ordering and health checks.', {
  slots: field.custom<readonly SlotConfig[]>(
    '{name, class, path, kind: "file"|"block"}[]',
    'A/B slots. Every class needs at least two slots; a payload goes to the slot of its class that is not booted.',
    Object.freeze([]),
    parseSlots,
  ),
  bootEnv: field.custom<BootEnvConfig>(
    '{kind: "grub"|"uboot"|"fw_setenv", path?, config?}',
    'Boot environment the bootloader reads: a grubenv file (path) or an fw_env.config file (config).',
    Object.freeze({ kind: 'grub', path: '/boot/grub/grubenv', config: null }),
    parseBootEnv,
  ),
  tries: field.number('Boot attempts the new slot gets before the bootloader falls back (1-9: the GRUB script counts down single digits).', 3, { min: 1, max: 9, integer: true }),
  rebootCommand: field.stringArray('Command (file + args, no shell) that reboots the node.', ['systemctl', 'reboot']),
  rebootTimeoutMs: field.number('How long the reboot command may run before it counts as failed.', 60_000, { min: 1, integer: true }),
  healthChecks: field.custom<readonly HealthCheckConfig[]>(
    '{name, command, args?, timeoutMs?}[]',
    'Commands run after booting a new slot; all must exit 0 within timeoutMs (default 30000) to commit.',
    Object.freeze([]),
    parseHealthChecks,
  ),
  bootedSlot: field.custom<BootedSlotConfig>(
    '{source: "cmdline"|"mounts"|"file", path?}',
    'How the booted slot is detected: kernel cmdline (rauc.slot= / outpost.slot=), the device mounted at "/", or a file holding the slot name.',
    Object.freeze({ source: 'cmdline', path: '/proc/cmdline' }),
    parseBootedSlot,
  ),
  checkpointBytes: field.number(
    'Slot data is fsynced and the progress record saved after this many bytes (resume granularity after a power cut), but not more often than checkpointSeconds.',
    4 << 20,
    { min: 4096, integer: true },
  ),
  checkpointSeconds: field.number(
    'Least time between two checkpoints: a fast local install fsyncs every few seconds, not every few MiB (a power cut costs at most this much rewriting, or checkpointBytes on a slow link).',
    2,
    { min: 0, max: 3600 },
  ),
  maxStateEntries: field.number(
    'Save counter: a deployment that re-enters one state more often than this fails instead of looping.',
    6,
    { min: 2, max: 100, integer: true },
  ),
  deploymentLogBytes: field.number('Per-deployment log kept for the hub report is cut at this size.', 256 << 10, {
    min: 1024,
    integer: true,
  }),
});
