// A delta's first step: the bundle's signed head over Range requests, verified, before anything
// is planned. 64 KiB first; the manifest in it says how long the head is, and the rest of the head
// goes straight into the parser, which keeps its own copy.
import type { DeliverOptions } from '../../bundle/source.ts';
import type { VerifiedHead } from '../../bundle/types.ts';
import { isOutpostError, OutpostError } from '../../../shared/errors.ts';
import { parseManifest } from '../../../shared/bundle/manifest.ts';
import { bundleLayout } from '../../../shared/bundle/layout.ts';
import { getRanges, streamRange, type RangeGetOptions } from './range-get.ts';
import type { Stats } from './group-delivery.ts';

export interface HeadRequests {
  /** First request's length. */
  readonly probeBytes: number;
  /** Options of a Range request made under `validator` (null: the first, which learns it). */
  ranged(validator: string | null): RangeGetOptions;
  /** Runs a request under the delta's retry policy. */
  retried<T>(fn: () => Promise<T>): Promise<T>;
}

/** The verified head; null when the server ignores Range (then a full GET does it all). */
export async function headByRange(o: DeliverOptions, stats: Stats, r: HeadRequests): Promise<{ head: VerifiedHead; validator: string | null } | null> {
  const probe = r.probeBytes;
  const first = await r.retried(() => getRanges(r.ranged(null), [{ start: 0, end: probe - 1 }]));
  stats.requests++;
  if (first.kind === 'ignored') return null;
  const validator = first.validator;
  const bytes = first.pieces[0]!.data;
  stats.fetched = bytes.length;
  const readHead = (rest: Iterable<Buffer> | AsyncIterable<Buffer>) => o.verifier.readHead((async function* () { yield bytes; yield* rest; })(), o.signal);
  // The manifest (in the probe, unless the whole file was shorter) says how long the head is.
  const size = bytes.length < probe ? null : headSize(bytes);
  if (size === null || size <= bytes.length) return { head: await readHead([]), validator };
  const rest = await r.retried(() =>
    streamRange(r.ranged(validator), { start: bytes.length, end: size - 1 }, (body) =>
      readHead(body).catch((err: unknown) => {
        // every byte the manifest's layout called for came (a cut is E_FETCH_NETWORK): no retry mends this
        throw isOutpostError(err, 'E_BUNDLE_TRUNCATED') ? new OutpostError('E_BUNDLE_TRUNCATED', err.message, { cause: err }) : err;
      }),
    ),
  );
  stats.requests++;
  if (rest.kind === 'ignored') return null;
  stats.fetched = size;
  return { head: rest.value, validator };
}

/** Head size from the first bytes: parse just enough (manifest) to compute the layout. */
function headSize(first: Buffer): number | null {
  const size = Number.parseInt(first.subarray(124, 135).toString('ascii'), 8);
  if (!Number.isSafeInteger(size) || 512 + size > first.length) return null;
  try {
    // Unverified here, used only to size the next request; readHead verifies everything.
    return bundleLayout(parseManifest(first.subarray(512, 512 + size)), size).headSize;
  } catch {
    return null;
  }
}
