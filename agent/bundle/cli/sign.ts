import type { CliIO } from '../../cli/io.ts';
import { addSignature } from '../../../shared/bundle/sign.ts';
import { readSigningKey } from '../key-files.ts';
import { one, parse, printHelp, required } from './args.ts';

const HELP = `
usage: outpost bundle sign BUNDLE --key PRIV [--key PRIV …]
Adds (or replaces) signatures in place; nothing else in the file moves.
`;

export async function sign(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, { key: { type: 'string', multiple: true } });
  if (values.help) return printHelp(io, HELP);
  const bundle = one(positionals, 'BUNDLE');
  let ids: string[] = [];
  for (const path of required(values.key, '--key')) {
    ids = (await addSignature(bundle, await readSigningKey(path))).map((s) => s.keyId);
  }
  io.out.write(`${bundle}: signed by ${ids.join(', ')}\n`);
  return 0;
}
