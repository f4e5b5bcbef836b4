import { parseArgs } from 'node:util';
import type { CliIO } from './io.ts';
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

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, doc: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    io.out.write('usage: outpost config [--config FILE]   validate a config file and print it with defaults filled in\n       outpost config --doc             print the config reference (markdown)\n');
    return 0;
  }
  if (values.doc) {
    io.out.write(configReference());
    return 0;
  }
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  io.out.write(JSON.stringify(config, null, 2) + '\n');
  return 0;
}
