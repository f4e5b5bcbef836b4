// Manifest validation (formats 1 and 2). Strict on purpose: unknown keys are rejected, because a node
// must never silently ignore a field a newer signer relied on; new fields mean a new format.
import { parseJsonNoDuplicates } from '../json/no-duplicate-keys.ts';
import { OutpostError } from '../errors.ts';
import {
  blockCount, HEX_SHA256_RE, SUPPORTED_FORMATS, V2_MAX_BLOCK_SIZE, V2_MAX_GROUP_BLOCKS, V2_MIN_BLOCK_SIZE, type FormatVersion, isPowerOfTwo, LABEL_RE, MAX_BLOCK_SIZE, MAX_COMPATIBLE,
  MAX_MANIFEST_BYTES, MAX_PAYLOAD_SIZE, MAX_PAYLOADS, MIN_BLOCK_SIZE, NAME_RE,
} from './format.ts';
import type { Manifest, PayloadEntry } from './types.ts';

const MANIFEST_KEYS = ['format', 'version', 'release', 'compatible', 'created', 'payloads'];
const PAYLOAD_KEYS = ['name', 'slotClass', 'size', 'sha256', 'blockSize', 'blocks', 'indexSha256'];
const PAYLOAD_KEYS_V2 = [...PAYLOAD_KEYS, 'groupBlocks', 'storedSize'];
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function fail(message: string): never {
  throw new OutpostError('E_BUNDLE_MANIFEST', `manifest: ${message}`);
}

function object(v: unknown, keys: string[], where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${where} must be an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${where} has unknown key "${k}"`);
  for (const k of keys) if (!(k in o)) fail(`${where} lacks "${k}"`);
  return o;
}

function int(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail(`${where} must be an integer in ${min}..${max}`);
  return v;
}

function str(v: unknown, re: RegExp, where: string): string {
  if (typeof v !== 'string' || !re.test(v)) fail(`${where} is malformed`);
  return v;
}

function payload(v: unknown, i: number, format: FormatVersion): PayloadEntry {
  const where = `payloads[${i}]`;
  const o = object(v, format === 1 ? PAYLOAD_KEYS : PAYLOAD_KEYS_V2, where);
  const size = int(o.size, `${where}.size`, 1, MAX_PAYLOAD_SIZE);
  const blockSize = format === 1
    ? int(o.blockSize, `${where}.blockSize`, MIN_BLOCK_SIZE, MAX_BLOCK_SIZE)
    : int(o.blockSize, `${where}.blockSize`, V2_MIN_BLOCK_SIZE, V2_MAX_BLOCK_SIZE);
  if (!isPowerOfTwo(blockSize)) fail(`${where}.blockSize must be a power of two`);
  const blocks = int(o.blocks, `${where}.blocks`, 1, MAX_PAYLOAD_SIZE);
  if (blocks !== blockCount(size, blockSize)) fail(`${where}.blocks must be ceil(size / blockSize) = ${blockCount(size, blockSize)}`);
  const v2 = format === 1 ? {} : {
    groupBlocks: int(o.groupBlocks, `${where}.groupBlocks`, 1, V2_MAX_GROUP_BLOCKS),
    // Stored blocks are never larger than raw ones; the group tables add 32 bytes per block.
    storedSize: int(o.storedSize, `${where}.storedSize`, 1, size + blocks * 32),
  };
  if (v2.groupBlocks !== undefined && !isPowerOfTwo(v2.groupBlocks)) fail(`${where}.groupBlocks must be a power of two`);
  return Object.freeze({
    name: str(o.name, NAME_RE, `${where}.name`),
    slotClass: str(o.slotClass, NAME_RE, `${where}.slotClass`),
    size,
    sha256: str(o.sha256, HEX_SHA256_RE, `${where}.sha256`),
    blockSize,
    blocks,
    indexSha256: str(o.indexSha256, HEX_SHA256_RE, `${where}.indexSha256`),
    ...v2,
  });
}

export function validateManifest(v: unknown): Manifest {
  // The format decides every other rule, so it is checked first and has its own code: a node
  // that meets a newer format says so instead of reporting a confusing field error.
  const format = (v as { format?: unknown } | null)?.format;
  if (typeof format !== 'number' || !SUPPORTED_FORMATS.includes(format)) {
    throw new OutpostError('E_BUNDLE_FORMAT', `bundle format ${JSON.stringify(format)} is not supported by this node (it reads formats ${SUPPORTED_FORMATS.join(', ')})`);
  }
  const o = object(v, MANIFEST_KEYS, 'manifest');
  const compatible = o.compatible;
  if (!Array.isArray(compatible) || compatible.length < 1 || compatible.length > MAX_COMPATIBLE) {
    fail(`compatible must list 1..${MAX_COMPATIBLE} strings`);
  }
  const created = str(o.created, ISO_RE, 'created');
  if (Number.isNaN(Date.parse(created))) fail('created is not a valid time');
  const payloads = o.payloads;
  if (!Array.isArray(payloads) || payloads.length < 1 || payloads.length > MAX_PAYLOADS) fail(`payloads must list 1..${MAX_PAYLOADS} entries`);
  const entries = payloads.map((p, i) => payload(p, i, format as FormatVersion));
  const names = new Set(entries.map((p) => p.name));
  if (names.size !== entries.length) fail('payload names must be unique');
  return Object.freeze({
    format: format as FormatVersion,
    version: str(o.version, LABEL_RE, 'version'),
    release: int(o.release, 'release', 0, Number.MAX_SAFE_INTEGER),
    compatible: Object.freeze(compatible.map((c, i) => str(c, LABEL_RE, `compatible[${i}]`))),
    created,
    payloads: Object.freeze(entries),
  });
}

/** Parses signed manifest bytes (call only after the signatures over them verified). */
export function parseManifest(bytes: Buffer): Manifest {
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new OutpostError('E_BUNDLE_MANIFEST_SIZE', `manifest is ${bytes.length} bytes; the limit is ${MAX_MANIFEST_BYTES}`);
  }
  let v: unknown;
  try {
    v = parseJsonNoDuplicates(bytes.toString('utf8'));
  } catch (err) {
    fail(`not JSON: ${(err as Error).message}`);
  }
  return validateManifest(v);
}

export function encodeManifest(m: Manifest): Buffer {
  const bytes = Buffer.from(JSON.stringify(validateManifest(m), null, 2) + '\n', 'utf8');
  if (bytes.length > MAX_MANIFEST_BYTES) throw new OutpostError('E_BUNDLE_MANIFEST_SIZE', 'manifest too large');
  return bytes;
}
