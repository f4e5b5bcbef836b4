// What update reports may tell the hub about a failure. A hub chooses the bundle URL, so it can
// point a node at an internal address (a router's admin page, a metadata service) and read the
// answer back through the outcome: status lines, byte counts, addresses, bodies quoted by a
// parser. Failures that come from fetching or parsing what that URL served are therefore sent as
// their code plus a fixed text; the details stay in the node's own log and deployment log file.
// The deployment log of such an outcome goes out as a timeline of time, level, message and code
// (no field values). Any other outcome's log is sent whole: the bundle it fetched verified, so
// its fields (transitions, checks, transfer figures) come from the node's own signed software.

/** Codes raised while fetching or reading what a hub-chosen URL served. */
const FROM_THE_URL = /^E_(FETCH|BUNDLE|OFFER|SOURCE|DELTA)_/;

const TEXT: ReadonlyArray<readonly [RegExp, string]> = [
  [/^E_FETCH_/, 'the bundle could not be downloaded; details are in the node\'s log'],
  [/^E_(BUNDLE|OFFER|SOURCE|DELTA)_/, 'what the offered URL served was refused; details are in the node\'s log'],
];

/** A failure raised while fetching or reading what the hub-chosen URL served. */
export function urlBorne(code: string | undefined): code is string {
  return code !== undefined && FROM_THE_URL.test(code);
}

/** The message as the hub may see it: unchanged, or a fixed text for URL-borne failures. */
export function hubMessage(code: string | undefined, message: string | undefined): string | undefined {
  if (message === undefined || !urlBorne(code)) return message;
  return TEXT.find(([re]) => re.test(code))![1];
}

/**
 * For an outcome with a URL-borne `code`: the deployment log (JSON lines) reduced to `t`,
 * `level`, `msg` and `code`; other outcomes' logs unchanged. Field values (URLs,
 * statuses, byte counts, error messages) are left out; a line that is not a JSON object is kept
 * only when the log holds no JSON at all (a plain-text log of another update service).
 */
export function hubLog(log: string, code?: string): string {
  if (!urlBorne(code)) return log;
  const lines = log.split('\n').filter(Boolean);
  const parsed = lines.map((l) => {
    try {
      const v: unknown = JSON.parse(l);
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  });
  if (parsed.every((p) => p === null)) return log;
  return parsed
    .flatMap((p) => {
      if (!p) return [];
      const err = p.err as { code?: unknown } | undefined;
      const code = typeof p.code === 'string' ? p.code : typeof err?.code === 'string' ? err.code : undefined;
      const keep: Record<string, unknown> = {};
      for (const k of ['t', 'level', 'msg'] as const) if (typeof p[k] === 'string') keep[k] = p[k];
      if (code !== undefined && /^E_[A-Z0-9_]+$/.test(code)) keep.code = code;
      return [JSON.stringify(keep)];
    })
    .join('\n');
}
