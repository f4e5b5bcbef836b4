import type { CliIO } from './io.ts';
import { AGENT_VERSION } from '../version.ts';

export async function run(_args: string[], io: CliIO): Promise<number> {
  io.out.write(`outpost ${AGENT_VERSION} (node ${process.versions.node}, ${process.arch})\n`);
  return 0;
}
