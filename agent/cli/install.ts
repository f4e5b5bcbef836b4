import type { CliIO } from './io.ts';

export async function run(_args: string[], io: CliIO): Promise<number> {
  io.err.write('E_NOT_IMPLEMENTED: outpost install is not built yet\n');
  return 3;
}
