// `outpost-hub version`: the hub ships from the same repository and version as the agent.
import type { CliIO } from '../../agent/cli/io.ts';
import { AGENT_VERSION } from '../../agent/version.ts';

export async function run(_args: string[], io: CliIO): Promise<number> {
  io.out.write(`outpost-hub ${AGENT_VERSION} (node ${process.versions.node})\n`);
  return 0;
}
