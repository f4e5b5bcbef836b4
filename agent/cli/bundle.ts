// `outpost bundle …`: signed bundle tooling for CI pipelines and operators (docs/bundles.md).
// Failures print one line "E_CODE: message" on stderr, so pipelines can grep the code (a usage
// error adds a hint line).
import { EXIT, reportError, type CliIO } from './io.ts';
import { usageError } from './args.ts';

const COMMANDS: Record<string, { summary: string; load: () => Promise<(args: string[], io: CliIO) => Promise<number>> }> = {
  keygen: { summary: 'make an Ed25519 signing key pair', load: async () => (await import('../bundle/cli/keygen.ts')).keygen },
  create: { summary: 'build and sign a bundle from an image (streaming)', load: async () => (await import('../bundle/cli/create.ts')).create },
  sign: { summary: 'add a signature to a bundle in place (k of n)', load: async () => (await import('../bundle/cli/sign.ts')).sign },
  verify: { summary: 'verify a bundle against a trust store; exit 0 only if valid', load: async () => (await import('../bundle/cli/verify.ts')).verify },
  inspect: { summary: 'print the manifest as JSON (not verified)', load: async () => (await import('../bundle/cli/inspect.ts')).inspect },
  trust: { summary: 'init | rotate | sign | show trust documents', load: async () => (await import('../bundle/cli/trust.ts')).trust },
};

function usage(io: CliIO): void {
  io.out.write('usage: outpost bundle <command> [options]\n\ncommands:\n');
  for (const [name, c] of Object.entries(COMMANDS)) io.out.write(`  ${name.padEnd(8)} ${c.summary}\n`);
  io.out.write('\nRun `outpost bundle <command> --help` for its options.\n');
}

export async function run(args: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h' || name === 'help') {
    usage(io);
    return EXIT.ok;
  }
  if (name === undefined) return reportError(io, usageError('missing bundle command'), 'outpost bundle');
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) return reportError(io, usageError(`unknown bundle command "${name}" (${Object.keys(COMMANDS).join(', ')})`), 'outpost bundle');
  try {
    return await (await cmd.load())(rest, io);
  } catch (err) {
    return reportError(io, err, `outpost bundle ${name}`);
  }
}
