// Reads the provisioned config file, validates every section against the schema table and
// returns one frozen Config that app.ts hands down through constructors (no global config).
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { OutpostError } from '../../shared/errors.ts';
import { parseSection, type SectionOf } from './schema.ts';
import { core } from './sections/core.ts';
import { update } from './sections/update.ts';
import { bundle } from './sections/bundle.ts';
import { fetch } from './sections/fetch.ts';
import { hub } from './sections/hub.ts';
import { inventory } from './sections/inventory.ts';
import { location } from './sections/location.ts';

export const SECTIONS = [core, update, bundle, fetch, hub, inventory, location] as const;

export interface Config {
  readonly core: SectionOf<typeof core.fields>;
  readonly update: SectionOf<typeof update.fields>;
  readonly bundle: SectionOf<typeof bundle.fields>;
  readonly fetch: SectionOf<typeof fetch.fields>;
  readonly hub: SectionOf<typeof hub.fields>;
  readonly inventory: SectionOf<typeof inventory.fields>;
  readonly location: SectionOf<typeof location.fields>;
  /** Absolute path of the file this came from (relative paths in it resolve against its directory). */
  readonly file: string | null;
}

export const DEFAULT_CONFIG_FILE = '/etc/outpost/config.json';

export function parseConfig(raw: unknown, file: string | null = null): Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new OutpostError('E_CONFIG', 'config: expected a JSON object');
  }
  const obj = raw as Record<string, unknown>;
  const names = new Set<string>(SECTIONS.map((s) => s.name));
  for (const key of Object.keys(obj)) {
    if (!names.has(key) && key !== '$comment') throw new OutpostError('E_CONFIG', `config ${key}: unknown section`);
  }
  const out: Record<string, unknown> = { file };
  for (const s of SECTIONS) out[s.name] = parseSection(s as never, obj[s.name]);
  // A relative root resolves against the config file's directory, so an example config works from a checkout.
  const c = out as { core: { root: string } };
  if (!isAbsolute(c.core.root)) {
    out.core = Object.freeze({ ...c.core, root: resolve(file ? join(file, '..') : process.cwd(), c.core.root) });
  }
  return Object.freeze(out) as unknown as Config;
}

export async function loadConfig(file: string = DEFAULT_CONFIG_FILE): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new OutpostError('E_CONFIG', `cannot read config ${file}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new OutpostError('E_CONFIG', `config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw, resolve(file));
}

/** Maps a configured absolute path under config.core.root; relative paths resolve against the root. */
export function rootPath(config: Config, p: string): string {
  return join(config.core.root, p);
}

export function stateDir(config: Config): string {
  return rootPath(config, config.core.stateDir);
}
