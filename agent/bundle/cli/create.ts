import type { CliIO } from '../../cli/io.ts';
import { createBundle } from '../../../shared/bundle/create.ts';
import {
  DEFAULT_BLOCK_SIZE, isPowerOfTwo, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, V2_DEFAULT_BLOCK_SIZE, V2_DEFAULT_GROUP_BLOCKS, V2_MAX_BLOCK_SIZE,
  V2_MAX_GROUP_BLOCKS, V2_MIN_BLOCK_SIZE,
} from '../../../shared/bundle/format.ts';
import { readSigningKey } from '../key-files.ts';
import { integer, parse, printHelp, required, size, usageError } from './args.ts';

const HELP = `
usage: outpost bundle create --image FILE --version V --release N --compatible STR [--compatible STR …]
                             --key PRIV [--key PRIV …] --out BUNDLE
                             [--slot-class rootfs] [--name NAME] [--format 2] [--block-size SIZE]
                             [--group-blocks 16] [--level 3]
Format 2 (default): blocks compressed independently with zstd, two-level index for delta
updates; --block-size 4K–64K (default 4K), --group-blocks 1–256 (default 16), --level 1–19.
Format 1: raw payload, --block-size 64K–8M (default 1M), for nodes that only read format 1.
Memory use does not depend on the image size.
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
    format: { type: 'string' },
    'group-blocks': { type: 'string' },
    level: { type: 'string' },
  });
  if (values.help) return printHelp(io, HELP);
  const keys = await Promise.all(required(values.key, '--key').map(readSigningKey));
  const slotClass = values['slot-class'] ?? 'rootfs';
  const format = values.format === undefined ? 2 : integer(values.format, '--format');
  if (format !== 1 && format !== 2) throw usageError(`--format must be 1 or 2, got ${values.format}`);
  const [min, max, dflt, label] = format === 1 ? [MIN_BLOCK_SIZE, MAX_BLOCK_SIZE, DEFAULT_BLOCK_SIZE, '64K to 8M'] : [V2_MIN_BLOCK_SIZE, V2_MAX_BLOCK_SIZE, V2_DEFAULT_BLOCK_SIZE, '4K to 64K'];
  const blockSize = values['block-size'] === undefined ? dflt : size(values['block-size'], '--block-size');
  if (!isPowerOfTwo(blockSize) || blockSize < min || blockSize > max) {
    throw usageError(`--block-size must be a power of two from ${label} for format ${format}, got ${values['block-size']}`);
  }
  const groupBlocks = values['group-blocks'] === undefined ? V2_DEFAULT_GROUP_BLOCKS : integer(values['group-blocks'], '--group-blocks');
  if (!isPowerOfTwo(groupBlocks) || groupBlocks > V2_MAX_GROUP_BLOCKS) throw usageError(`--group-blocks must be a power of two from 1 to ${V2_MAX_GROUP_BLOCKS}`);
  const level = values.level === undefined ? undefined : integer(values.level, '--level');
  if (level !== undefined && (level < 1 || level > 19)) throw usageError('--level must be 1 to 19');
  const made = await createBundle({
    payloads: [
      {
        path: required(values.image, '--image'),
        name: values.name ?? `${slotClass}.img`,
        slotClass,
        blockSize,
        ...(format === 2 ? { groupBlocks } : {}),
      },
    ],
    format,
    level,
    version: required(values.version, '--version'),
    release: integer(required(values.release, '--release'), '--release'),
    compatible: required(values.compatible, '--compatible'),
    keys,
    out: required(values.out, '--out'),
  });
  const p = made.manifest.payloads[0]!;
  io.out.write(
    `wrote ${values.out}: version ${made.manifest.version}, release ${made.manifest.release}, ` +
      `format ${made.manifest.format}, ${p.name} ${p.size} bytes in ${p.blocks} blocks` +
      (p.storedSize === undefined ? '' : ` (${p.storedSize} stored)`) + `, signed by ${keys.map((k) => k.id).join(', ')}\n`,
  );
  return 0;
}
