// What the agent's `tar` parser gets for `minizlib`: its decompressors, for gzip, brotli and zstd
// tarballs. The agent never hands the parser one: a bundle is plain tar (BUNDLE-SPEC.md section 2),
// brotli and zstd are switched off where the parser is made (agent/bundle/stream-parser.ts), and
// the framing guard rejects a gzip stream before the parser sees it (E_BUNDLE_TAR). The real
// module loads node:assert and node:zlib at start (compiled from source at every start of the
// binary: agent/cli/status, install), so the agent's build puts this in its place.
import { OutpostError } from '../../shared/errors.ts';

class Refused {
  constructor() {
    throw new OutpostError('E_BUNDLE_TAR', 'a compressed tar stream reached the bundle parser; bundles are plain tar');
  }
}

export class Unzip extends Refused {}
export class BrotliDecompress extends Refused {}
export class ZstdDecompress extends Refused {}
