import type { CliIO } from '../../cli/io.ts';
import { checkKeyId } from '../../../shared/bundle/keys.ts';
import { writeKeyPair } from '../key-files.ts';
import { parse, printHelp, required } from './args.ts';

const HELP = `
usage: outpost bundle keygen --out DIR [--id ID]
Writes DIR/ID.key (private Ed25519 JWK, mode 0600) and DIR/ID.pub (public JWK).
ID defaults to "k-" + 16 hex digits of the public key's sha256. Never overwrites a key.
`;

export async function keygen(args: string[], io: CliIO): Promise<number> {
  const { values } = parse(args, { out: { type: 'string' }, id: { type: 'string' } });
  if (values.help) return printHelp(io, HELP);
  const dir = required(values.out, '--out');
  const k = await writeKeyPair(dir, values.id === undefined ? undefined : checkKeyId(values.id));
  io.out.write(`key ${k.id}\n  private ${k.privatePath} (keep secret, mode 0600)\n  public  ${k.publicPath}\n`);
  return 0;
}
