import type { CliIO } from '../../cli/io.ts';
import { createBundle } from '../../../shared/bundle/create.ts';
import { DEFAULT_BLOCK_SIZE, isPowerOfTwo, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from '../../../shared/bundle/format.ts';
import { readSigningKey } from '../key-files.ts';
import { integer, parse, printHelp, required, size, usageError } from './args.ts';

const HELP = `
usage: outpost bundle create --image FILE --version V --release N --compatible STR [--compatible STR …]
                             --key PRIV [--key PRIV …] --out BUNDLE
                             [--slot-class rootfs] [--name NAME] [--block-size 1M]
Streams the image twice (hash, then write); memory use does not depend on its size.
Every --key signs the manifest; more signatures can be added later with \`bundle sign\`.
`;

export async function create(args: string[], io: CliIO): Promise<number> {
  const { values } = parse(args, {
    image: { type: 'string' },
    version: { type: 'string' },
    release: { type: 'string' },
    compatible: { type: 'string', multiple: true },
    key: { type: 'string', multiple: true },
    out: { type: 'string' },
    'slot-class': { type: 'string' },
    name: { type: 'string' },
    'block-size': { type: 'string' },
  });
  if (values.help) return printHelp(io, HELP);
  const keys = await Promise.all(required(values.key, '--key').map(readSigningKey));
  const slotClass = values['slot-class'] ?? 'rootfs';
  const blockSize = values['block-size'] === undefined ? DEFAULT_BLOCK_SIZE : size(values['block-size'], '--block-size');
  if (!isPowerOfTwo(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
    throw usageError(`--block-size must be a power of two from 64K to 8M, got ${values['block-size']}`);
  }
  const made = await createBundle({
    payloads: [
      {
        path: required(values.image, '--image'),
        name: values.name ?? `${slotClass}.img`,
        slotClass,
        blockSize,
      },
    ],
    version: required(values.version, '--version'),
    release: integer(required(values.release, '--release'), '--release'),
    compatible: required(values.compatible, '--compatible'),
    keys,
    out: required(values.out, '--out'),
  });
  const p = made.manifest.payloads[0]!;
  io.out.write(
    `wrote ${values.out}: version ${made.manifest.version}, release ${made.manifest.release}, ` +
      `${p.name} ${p.size} bytes in ${p.blocks} blocks, signed by ${keys.map((k) => k.id).join(', ')}\n`,
  );
  return 0;
}
