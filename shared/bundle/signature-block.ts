// The signatures entry: compact JSON {"signatures":[{"keyId":…,"sig":…}]} padded with spaces to
// exactly SIGNATURES_SIZE bytes. Fixed size lets `bundle sign` rewrite it in place, so payload
// offsets never move. Only the canonical spelling is accepted: otherwise whitespace or hex-case
// changes would be malleable bytes that no signature covers.
import { parseJsonNoDuplicates } from '../json/no-duplicate-keys.ts';
import { OutpostError } from '../errors.ts';
import { MAX_SIGNATURES, NAME_RE, SIGNATURES_SIZE } from './format.ts';
import { isSignatureHex } from './keys.ts';

export interface DetachedSignature {
  readonly keyId: string;
  /** 128 lowercase hex digits (64-byte ed25519 signature). */
  readonly sig: string;
}

function bad(message: string): OutpostError {
  return new OutpostError('E_BUNDLE_SIGNATURE_BLOCK', `signatures entry: ${message}`);
}

function canonical(sigs: readonly DetachedSignature[]): string {
  return JSON.stringify({ signatures: sigs.map((s) => ({ keyId: s.keyId, sig: s.sig })) });
}

export function encodeSignatureBlock(sigs: readonly DetachedSignature[]): Buffer {
  if (sigs.length > MAX_SIGNATURES) {
    throw new OutpostError('E_BUNDLE_SIGNATURE_FULL', `at most ${MAX_SIGNATURES} signatures fit in a bundle`);
  }
  const ids = new Set<string>();
  for (const s of sigs) {
    if (!NAME_RE.test(s.keyId) || !isSignatureHex(s.sig)) throw bad(`malformed signature for "${s.keyId}"`);
    if (ids.has(s.keyId)) throw bad(`two signatures by "${s.keyId}"`);
    ids.add(s.keyId);
  }
  const text = Buffer.from(canonical(sigs), 'utf8');
  if (text.length > SIGNATURES_SIZE) {
    throw new OutpostError('E_BUNDLE_SIGNATURE_FULL', `signatures need ${text.length} bytes; the entry holds ${SIGNATURES_SIZE}`);
  }
  const block = Buffer.alloc(SIGNATURES_SIZE, 0x20);
  text.copy(block);
  return block;
}

export function decodeSignatureBlock(block: Buffer): DetachedSignature[] {
  if (block.length !== SIGNATURES_SIZE) throw bad(`size ${block.length}, expected ${SIGNATURES_SIZE}`);
  let end = block.length;
  while (end > 0 && block[end - 1] === 0x20) end--;
  const text = block.subarray(0, end).toString('utf8');
  let parsed: unknown;
  try {
    parsed = parseJsonNoDuplicates(text);
  } catch (err) {
    throw bad(`not JSON without duplicate keys: ${(err as Error).message}`);
  }
  const list = (parsed as { signatures?: unknown } | null)?.signatures;
  if (!Array.isArray(list)) throw bad('no "signatures" array');
  if (list.length > MAX_SIGNATURES) throw bad(`more than ${MAX_SIGNATURES} signatures`);
  const sigs: DetachedSignature[] = [];
  const ids = new Set<string>();
  for (const item of list as unknown[]) {
    const o = item as { keyId?: unknown; sig?: unknown } | null;
    if (typeof o?.keyId !== 'string' || !NAME_RE.test(o.keyId) || !isSignatureHex(o.sig)) throw bad('malformed signature item');
    if (ids.has(o.keyId)) throw bad(`two signatures by "${o.keyId}"`);
    ids.add(o.keyId);
    sigs.push({ keyId: o.keyId, sig: o.sig });
  }
  if (canonical(sigs) !== text) throw bad('not in canonical form (compact JSON, keys in order, space padding)');
  return sigs;
}
