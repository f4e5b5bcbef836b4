import { parseArgs } from 'node:util';
import type { CliIO } from './io.ts';
import { loadConfig, SECTIONS, DEFAULT_CONFIG_FILE } from '../config/load.ts';

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, doc: { type: 'boolean' } } });
  if (values.doc) {
    for (const s of SECTIONS) {
      io.out.write(`\n### \`${s.name}\`\n${s.doc}\n\n| key | type | default | meaning |\n| --- | --- | --- | --- |\n`);
      for (const [k, f] of Object.entries(s.fields)) {
        const def = f.required ? '(required)' : `\`${JSON.stringify(f.default)}\``;
        io.out.write(`| \`${s.name}.${k}\` | ${f.type.replaceAll('|', '\\|')} | ${def} | ${f.doc} |\n`);
      }
    }
    return 0;
  }
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  io.out.write(JSON.stringify(config, null, 2) + '\n');
  return 0;
}
