import type { CliIO } from '../../cli/io.ts';
import { inspectHead } from '../inspect.ts';
import { one, parse, printHelp } from './args.ts';
import { openBundle } from './source.ts';

const HELP = `
usage: outpost bundle inspect BUNDLE|- [--layout]
Prints the manifest as JSON. Signatures are NOT verified (use \`bundle verify\`).
--layout prints {manifest, signatureKeyIds, payloads: [{name, dataOffset}], headSize} instead.
`;

export async function inspect(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, { layout: { type: 'boolean' } });
  if (values.help) return printHelp(io, HELP);
  const { head, signatureKeyIds } = await inspectHead(openBundle(one(positionals, 'BUNDLE')));
  const out = values.layout
    ? {
        manifest: head.manifest,
        signatureKeyIds,
        payloads: head.payloads.map((p) => ({ name: p.entry.name, dataOffset: p.dataOffset })),
        headSize: head.headBytes.length,
      }
    : head.manifest;
  io.out.write(JSON.stringify(out, null, 2) + '\n');
  return 0;
}
