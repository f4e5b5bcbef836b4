// argv → command for `outpost-hub`. Commands load lazily so `outpost-hub ctl` does not pay for
// the server's modules. The hub is its own program: nothing here is reachable from agent/.
import { processIO, reportError, type CliIO, type CommandModule } from '../agent/cli/io.ts';
import { isOutpostError } from '../shared/errors.ts';

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  serve: { summary: 'run the hub (agent endpoint, bundles, operator API)', load: () => import('./cli/serve.ts') },
  ctl: { summary: 'operate a running hub through its operator API (nodes, accept, offer, …)', load: () => import('./cli/ctl.ts') },
  token: { summary: 'create | list | revoke operator API tokens', load: () => import('./cli/token.ts') },
  version: { summary: 'print the hub version', load: () => import('./cli/version.ts') },
};

function usage(io: CliIO): void {
  io.out.write('usage: outpost-hub <command> [options]\n\ncommands:\n');
  for (const [name, c] of Object.entries(COMMANDS)) io.out.write(`  ${name.padEnd(8)} ${c.summary}\n`);
  io.out.write('\nRun `outpost-hub <command> --help` for its options. Options without a command mean `serve`.\n');
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    usage(io);
    return first === undefined ? 2 : 0;
  }
  // `outpost-hub --port 8443 …` is `serve`: the common case stays short.
  const [name, args] = first.startsWith('--') && first !== '--version' ? ['serve', argv] : [first === '--version' || first === '-v' ? 'version' : first, rest];
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.err.write(`E_USAGE: unknown command "${name}"\n`);
    usage(io);
    return 2;
  }
  try {
    const mod = await cmd.load();
    return await mod.run(args, io);
  } catch (err) {
    if (isOutpostError(err, 'E_USAGE')) {
      io.err.write(`E_USAGE: ${err.message}\n`);
      return 2;
    }
    return reportError(io, err);
  }
}
