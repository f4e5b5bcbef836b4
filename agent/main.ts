// argv → command. Commands load lazily so `outpost --version` does not pay for systeminformation.
import { processIO, reportError, type CliIO, type CommandModule } from './cli/io.ts';

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  run: { summary: 'run the agent daemon (hub link, updates, reports)', load: () => import('./cli/run.ts') },
  install: { summary: 'install a bundle from a file or URL into the inactive slot', load: () => import('./cli/install.ts') },
  status: { summary: 'booted slot, primary, per-slot state, deployment state', load: () => import('./cli/status.ts') },
  commit: { summary: 'mark the booted slot good (after a trial boot)', load: () => import('./cli/commit.ts') },
  rollback: { summary: 'switch back to the other slot and reboot', load: () => import('./cli/rollback.ts') },
  bundle: { summary: 'keygen | create | sign | verify | inspect signed bundles', load: () => import('./cli/bundle.ts') },
  inventory: { summary: 'print this node\'s inventory', load: () => import('./cli/inventory.ts') },
  location: { summary: 'print this node\'s location', load: () => import('./cli/location.ts') },
  config: { summary: 'check a config file, or print the config reference (--doc)', load: () => import('./cli/config.ts') },
  version: { summary: 'print the agent version', load: () => import('./cli/version.ts') },
};

function usage(io: CliIO): void {
  io.out.write('usage: outpost <command> [options]\n\ncommands:\n');
  for (const [name, c] of Object.entries(COMMANDS)) io.out.write(`  ${name.padEnd(10)} ${c.summary}\n`);
  io.out.write('\nRun `outpost <command> --help` for its options.\n');
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    usage(io);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name === '--version' || name === '-v' ? 'version' : name];
  if (!cmd) {
    io.err.write(`E_USAGE: unknown command "${name}"\n`);
    usage(io);
    return 2;
  }
  try {
    const mod = await cmd.load();
    return await mod.run(rest, io);
  } catch (err) {
    return reportError(io, err);
  }
}
