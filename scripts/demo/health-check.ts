// The demo node's health check (update.healthChecks): reads the header of the image in the slot
// that is running and exits 1 when its self-test says "fail" — a realistic "the new software does
// not come up", found only after booting it.
// Usage: health-check.ts BOOTED_SLOT_FILE NAME=SLOT_PATH...
import { open, readFile } from 'node:fs/promises';
import { HEADER_BYTES, parseHeader } from './image.ts';

const [bootedFile, ...slotArgs] = process.argv.slice(2);
const slots = new Map(slotArgs.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

if (!bootedFile || slots.size === 0) fail('usage: health-check.ts BOOTED_SLOT_FILE NAME=SLOT_PATH...');
const booted = (await readFile(bootedFile, 'utf8').catch(() => '')).trim();
const path = slots.get(booted);
if (!path) fail(`cannot tell which slot is running (booted-slot file says "${booted}")`);
const fh = await open(path, 'r');
const head = Buffer.alloc(HEADER_BYTES);
await fh.read(head, 0, HEADER_BYTES, 0).finally(() => fh.close());
const info = parseHeader(head);
if (!info) fail(`slot ${booted} does not hold a demo image`);
if (info.selftest !== 'pass') fail(`self-test of version ${info.version} on slot ${booted}: ${info.selftest}`);
process.stdout.write(`version ${info.version} on slot ${booted} is healthy\n`);
