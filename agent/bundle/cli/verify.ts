import { createHash, type Hash } from 'node:crypto';
import { OutpostError } from '../../../shared/errors.ts';
import type { CliIO } from '../../cli/io.ts';
import { readBundle } from '../reader.ts';
import { loadTrustStore } from '../trust-file.ts';
import type { BlockSink } from '../types.ts';
import { integer, one, parse, printHelp, required } from './args.ts';
import { openBundle } from './source.ts';

const HELP = `
usage: outpost bundle verify BUNDLE|- --trust DIR|FILE [--compatible STR …] [--floor N]
Verifies signatures (threshold, revocation), floor, compatibility, every block and every
payload digest. Exit 0 only when valid; otherwise one line "E_CODE: message" on stderr.
`;

export async function verify(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    trust: { type: 'string' },
    compatible: { type: 'string', multiple: true },
    floor: { type: 'string' },
  });
  if (values.help) return printHelp(io, HELP);
  const bundle = one(positionals, 'BUNDLE');
  const trust = await loadTrustStore(required(values.trust, '--trust'));
  const floor = values.floor === undefined ? 0 : integer(values.floor, '--floor');
  let bytes = 0;
  // A node checks every block against the signed index and nothing more; this tool also checks
  // the whole-payload sha256 that external tools and the post-boot check of a slot rely on.
  let whole: Hash | null = null;
  const sink: BlockSink = {
    async begin() {
      whole = createHash('sha256');
    },
    async block(_p, _i, data) {
      bytes += data.length;
      whole!.update(data);
    },
    async end(p) {
      const hex = whole!.digest('hex');
      if (hex !== p.sha256) throw new OutpostError('E_BUNDLE_DIGEST', `payload ${p.name}: sha256 ${hex} does not match the manifest`);
    },
  };
  const head = await readBundle(openBundle(bundle), { trust, releaseFloor: floor, compatible: values.compatible ?? [] }, sink);
  const m = head.manifest;
  io.out.write(`OK ${bundle}: version ${m.version}, release ${m.release}, ${bytes} payload bytes, signed by ${head.signers.join(', ')}\n`);
  return 0;
}
