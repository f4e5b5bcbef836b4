import { EXIT, type CliIO } from './io.ts';
import { checkConfig } from '../config/checks.ts';
import { parse, positionals, printHelp } from './args.ts';
import { loadConfig, SECTIONS, DEFAULT_CONFIG_FILE } from '../config/load.ts';

/** The config reference in markdown, generated from the schema table (README embeds it). */
export function configReference(): string {
  let out = '';
  for (const s of SECTIONS) {
    out += `\n### \`${s.name}\`\n${s.doc}\n\n| key | type | default | meaning |\n| --- | --- | --- | --- |\n`;
    for (const [k, f] of Object.entries(s.fields)) {
      const def = f.required ? '(required)' : `\`${JSON.stringify(f.default)}\``;
      out += `| \`${s.name}.${k}\` | ${f.type.replaceAll('|', '\\|')} | ${def.replaceAll('|', '\\|')} | ${f.doc.replaceAll('|', '\\|')} |\n`;
    }
  }
  return out;
}

const HELP = `usage: outpost config [--config FILE]
       outpost config --doc

Runs every check \`outpost run\` makes before it starts: the schema, then URLs and their schemes,
TLS and proxy settings, the state directory, slot paths and sizes, the boot environment (read
once), the booted-slot source, reboot and health-check commands, the trust store and floor
file. Prints one "CODE: message" line on stderr per problem (W_… codes are warnings) and, when
the config is usable, the config with the defaults filled in on stdout. Exit 0 when usable
(warnings allowed), 1 otherwise. Nothing is created or written.
  --config FILE   the file to check (default ${DEFAULT_CONFIG_FILE})
  --doc           print the config reference (markdown, as in the README)
`;

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' }, doc: { type: 'boolean' } });
  if (values.help) return printHelp(io, HELP);
  positionals(extra, 0, 0, 'arguments');
  if (values.doc) {
    io.out.write(configReference());
    return 0;
  }
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  const problems = await checkConfig(config);
  for (const p of problems) io.err.write(`${p.code}: ${p.message}${p.severity === 'degraded' ? ' (outpost run starts, but cannot update until fixed)' : ''}\n`);
  if (problems.some((p) => p.severity !== 'warning')) return EXIT.failed;
  io.out.write(JSON.stringify(config, null, 2) + '\n');
  return EXIT.ok;
}
