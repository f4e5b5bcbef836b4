// The config schema table: every key with its type, default and doc. Sections are defined in
// agent/config/sections/*.ts; the README's config reference is generated from the same table
// (`outpost config --doc`), so code and docs cannot drift.
import { OutpostError } from '../../shared/errors.ts';

export interface Field<T> {
  readonly type: string;
  readonly doc: string;
  readonly default: T | undefined;
  readonly required: boolean;
  /** Validates and normalises a raw JSON value; throws a message string's Error on bad input. */
  parse(value: unknown, path: string): T;
}

function fail(path: string, message: string): never {
  throw new OutpostError('E_CONFIG', `config ${path}: ${message}`);
}

function make<T>(type: string, doc: string, def: T | undefined, parse: (v: unknown, path: string) => T): Field<T> {
  return { type, doc, default: def, required: def === undefined, parse };
}

export const field = {
  string(doc: string, def?: string, check?: (v: string) => string | undefined): Field<string> {
    return make('string', doc, def, (v, p) => {
      if (typeof v !== 'string') fail(p, `expected a string, got ${JSON.stringify(v)}`);
      const problem = check?.(v);
      if (problem) fail(p, problem);
      return v;
    });
  },
  optionalString(doc: string): Field<string | null> {
    return make<string | null>('string | null', doc, null, (v, p) => {
      if (v === null) return null;
      if (typeof v !== 'string') fail(p, `expected a string or null, got ${JSON.stringify(v)}`);
      return v;
    });
  },
  number(doc: string, def?: number, opts: { min?: number; max?: number; integer?: boolean } = {}): Field<number> {
    return make('number', doc, def, (v, p) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(p, `expected a number, got ${JSON.stringify(v)}`);
      if (opts.integer && !Number.isInteger(v)) fail(p, `expected an integer, got ${v}`);
      if (opts.min !== undefined && v < opts.min) fail(p, `must be >= ${opts.min}, got ${v}`);
      if (opts.max !== undefined && v > opts.max) fail(p, `must be <= ${opts.max}, got ${v}`);
      return v;
    });
  },
  boolean(doc: string, def?: boolean): Field<boolean> {
    return make('boolean', doc, def, (v, p) => {
      if (typeof v !== 'boolean') fail(p, `expected true or false, got ${JSON.stringify(v)}`);
      return v;
    });
  },
  oneOf<const T extends string>(doc: string, values: readonly T[], def?: T): Field<T> {
    return make(values.map((x) => JSON.stringify(x)).join(' | '), doc, def, (v, p) => {
      if (typeof v !== 'string' || !values.includes(v as T)) fail(p, `expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
      return v as T;
    });
  },
  stringArray(doc: string, def?: string[]): Field<readonly string[]> {
    return make<readonly string[]>('string[]', doc, def, (v, p) => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(p, 'expected an array of strings');
      return Object.freeze([...(v as string[])]);
    });
  },
  /** Structured value with its own validator (e.g. a list of slots or windows). */
  custom<T>(type: string, doc: string, def: T | undefined, parse: (v: unknown, path: string) => T): Field<T> {
    return make(type, doc, def, (v, p) => {
      try {
        return parse(v, p);
      } catch (err) {
        if (err instanceof OutpostError) throw err;
        fail(p, (err as Error).message);
      }
    });
  },
};

/** For parsers of structured values: a JSON object (not null, not an array). */
export function expectObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what}: expected an object`);
  return v as Record<string, unknown>;
}

/** For parsers of structured values: refuses keys outside `keys` (typos would be ignored otherwise). */
export function onlyKeys(o: Record<string, unknown>, keys: readonly string[], where = ''): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new Error(`${where}${k}: unknown key (typo?)`);
}

export type Fields = Record<string, Field<any>>;
export type SectionOf<F extends Fields> = { readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never };

export interface Section<N extends string, F extends Fields> {
  readonly name: N;
  readonly doc: string;
  readonly fields: F;
}

export function defineSection<const N extends string, F extends Fields>(name: N, doc: string, fields: F): Section<N, F> {
  return { name, doc, fields };
}

export function parseSection<N extends string, F extends Fields>(section: Section<N, F>, raw: unknown): SectionOf<F> {
  const obj = raw ?? {};
  if (typeof obj !== 'object' || Array.isArray(obj)) fail(section.name, 'expected an object');
  const input = obj as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!(key in section.fields)) fail(`${section.name}.${key}`, 'unknown key (typo?)');
  }
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(section.fields)) {
    const path = `${section.name}.${key}`;
    if (input[key] === undefined) {
      if (f.required) fail(path, 'is required');
      out[key] = f.default;
    } else {
      out[key] = f.parse(input[key], path);
    }
  }
  return Object.freeze(out) as SectionOf<F>;
}
