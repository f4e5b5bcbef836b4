// The custom-inventory output convention shared with other agents: one `key=value` per line.
// Blank lines and `#` comments are ignored; anything else that does not parse is counted as
// malformed (reported, while the good lines are still kept). A repeated key: the last one wins.

export const KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const MAX_VALUE_CHARS = 4096;
export const MAX_KEYS = 256;

export interface KeyValueResult {
  values: Record<string, string>;
  /** 1-based line numbers that were not `key=value` (or exceeded the limits). */
  malformed: number[];
}

export function parseKeyValueLines(text: string): KeyValueResult {
  const values: Record<string, string> = Object.create(null);
  const malformed: number[] = [];
  let count = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    const value = eq > 0 ? line.slice(eq + 1).trim() : '';
    const isNew = !(key in values);
    if (!KEY_PATTERN.test(key) || value.length > MAX_VALUE_CHARS || (isNew && count >= MAX_KEYS)) {
      malformed.push(i + 1);
      continue;
    }
    if (isNew) count++;
    values[key] = value;
  }
  return { values: { ...values }, malformed };
}
