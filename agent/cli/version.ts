import type { CliIO } from './io.ts';
import { parse, positionals, printHelp } from './args.ts';
import { AGENT_VERSION } from '../version.ts';

const HELP = `usage: outpost version   (also: outpost --version, outpost -V)

Prints the agent version, the Node runtime it runs on and the CPU architecture.
`;

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, {});
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  io.out.write(`outpost ${AGENT_VERSION} (node ${process.versions.node}, ${process.arch})\n`);
  return 0;
}
