// argv → command. Commands load lazily so `outpost --version` does not pay for systeminformation.
// Usage errors anywhere end here as E_USAGE: one line, a hint, exit 2 (agent/cli/io.ts).
import { EXIT, processIO, reportError, type CliIO, type CommandModule } from './cli/io.ts';
import { usageError } from './cli/args.ts';

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  run: { summary: 'run the agent daemon (hub link, updates, reports)', load: () => import('./cli/run.ts') },
  install: { summary: 'install a bundle from a file or URL into the inactive slot', load: () => import('./cli/install.ts') },
  status: { summary: 'booted slot, primary, per-slot state, deployment state', load: () => import('./cli/status.ts') },
  commit: { summary: 'mark the booted slot good (after a trial boot)', load: () => import('./cli/commit.ts') },
  rollback: { summary: 'revert the deployment, or switch back to the other slot and reboot', load: () => import('./cli/rollback.ts') },
  reboot: { summary: 'reboot when nothing is in progress (arms a staged deployment first)', load: () => import('./cli/reboot.ts') },
  bundle: { summary: 'keygen | create | sign | verify | inspect | trust: signed bundles', load: () => import('./cli/bundle.ts') },
  inventory: { summary: 'print this node\'s inventory', load: () => import('./cli/inventory.ts') },
  location: { summary: 'print this node\'s location', load: () => import('./cli/location.ts') },
  time: { summary: 'show the time sources; reset a bad time floor', load: () => import('./cli/time.ts') },
  config: { summary: 'check a config file (every check `run` makes), or print the reference', load: () => import('./cli/config.ts') },
  version: { summary: 'print the agent version', load: () => import('./cli/version.ts') },
};

const VERSION_FLAGS = new Set(['--version', '-V', '-v']);
const HELP_FLAGS = new Set(['--help', '-h']);

function usage(): string {
  let s = 'usage: outpost <command> [options]\n       outpost --help | --version\n\ncommands:\n';
  for (const [name, c] of Object.entries(COMMANDS)) s += `  ${name.padEnd(10)} ${c.summary}\n`;
  return s + '\nRun `outpost <command> --help` for its options. Exit codes: 0 ok, 1 failed (code on stderr),\n2 usage error, 4 no location, 70 internal error, 130 stopped by a signal.\n';
}

/**
 * `loaded` is called once the command's modules are loaded, before it runs: the single binary
 * sets the V8 flags it runs with back then (scripts/build/loading-flags.ts).
 */
export async function main(argv: string[], io: CliIO = processIO(), loaded?: () => void): Promise<number> {
  let [name, ...rest] = argv;
  if (name !== undefined && HELP_FLAGS.has(name)) return (io.out.write(usage()), EXIT.ok);
  if (name !== undefined && VERSION_FLAGS.has(name)) name = 'version';
  // `outpost help install` is `outpost install --help`.
  if (name === 'help') {
    if (rest.length === 0) return (io.out.write(usage()), EXIT.ok);
    [name, ...rest] = [rest[0]!, '--help'];
  }
  if (name === undefined) return reportError(io, usageError('no command given'));
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    const what = name.startsWith('-') ? `unknown option "${name}"` : `unknown command "${name}"`;
    return reportError(io, usageError(`${what} (commands: ${Object.keys(COMMANDS).join(', ')})`));
  }
  try {
    const mod = await cmd.load();
    loaded?.();
    return await mod.run(rest, io);
  } catch (err) {
    return reportError(io, err, `outpost ${name}`);
  }
}
