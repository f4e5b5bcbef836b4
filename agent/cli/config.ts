import type { CliIO } from './io.ts';
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

Checks a config file the way \`outpost run\` does before it starts, and prints it with the
defaults filled in. Exit 0 when it is usable, 1 with "E_CODE: message" otherwise.
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
  io.out.write(JSON.stringify(config, null, 2) + '\n');
  return 0;
}
