// Downloads: windows, throttle, budgets, TLS, proxy, retries. Window expressions are validated
// with the same parser the window maths uses, so a config that loads is a config that works.
import { defineSection, expectObject, field, onlyKeys } from '../schema.ts';
import { compileWindow, type WindowSpec } from '../../window/window.ts';
import { checkTimeZone } from '../../window/tz.ts';

function windowList(withRate: boolean) {
  return (v: unknown, path: string): readonly WindowSpec[] => {
    if (!Array.isArray(v)) throw new Error('expected an array of windows');
    return Object.freeze(
      v.map((raw, i) => {
        const o = expectObject(raw, `${path}[${i}]`);
        const allowed = ['cron', 'durationMinutes', 'timezone', ...(withRate ? ['maxBytesPerSecond'] : [])];
        onlyKeys(o, allowed, `[${i}].`);
        if (typeof o.cron !== 'string') throw new Error(`[${i}].cron: expected a cron expression`);
        if (typeof o.durationMinutes !== 'number') throw new Error(`[${i}].durationMinutes: expected minutes`);
        const timezone = o.timezone === undefined ? 'UTC' : o.timezone;
        if (typeof timezone !== 'string') throw new Error(`[${i}].timezone: expected an IANA zone name`);
        const rate = o.maxBytesPerSecond ?? null;
        if (rate !== null && (typeof rate !== 'number' || !(rate > 0))) throw new Error(`[${i}].maxBytesPerSecond: expected a positive number or null`);
        const spec: WindowSpec = Object.freeze({ cron: o.cron, durationMinutes: o.durationMinutes, timezone, maxBytesPerSecond: rate as number | null });
        try {
          compileWindow(spec);
        } catch (err) {
          throw new Error(`[${i}]: ${(err as Error).message}`);
        }
        return spec;
      }),
    );
  };
}

function optionalPositive(doc: string) {
  return field.custom<number | null>('number | null', doc, null, (v) => {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`expected a positive number or null, got ${JSON.stringify(v)}`);
    return v;
  });
}

export const fetch = defineSection('fetch', 'Downloads, bandwidth windows and budgets.', {
  windows: field.custom<readonly WindowSpec[]>(
    '{cron, durationMinutes, timezone?, maxBytesPerSecond?}[]',
    'Download windows: each opens at its cron start (5 fields, wall clock of `timezone`, default UTC) for `durationMinutes` of real time; overlapping windows merge; the most generous open rate wins. Empty: downloads may run at any time.',
    [],
    windowList(true),
  ),
  installWindows: field.custom<readonly WindowSpec[]>(
    '{cron, durationMinutes, timezone?}[]',
    'Windows in which a downloaded update may be installed and the node rebooted (e.g. "0 3 * * sun" for 60 minutes). Empty: any time.',
    [],
    windowList(false),
  ),
  maxBytesPerSecond: optionalPositive('Download rate cap at all times, "download now" included (null: none).'),
  dailyByteBudget: optionalPositive('Bytes a day downloads may use; when spent they pause until the next day (null: no limit).'),
  monthlyByteBudget: optionalPositive('Bytes a calendar month downloads may use (null: no limit).'),
  budgetTimezone: field.string('Zone whose midnight and first of the month start a new budget period.', 'UTC', (v) => {
    try {
      checkTimeZone(v);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }),
  caFile: field.optionalString('PEM file with extra CA certificates trusted for downloads (a private PKI).'),
  publicCas: field.boolean("Also trust the OS certificate store and Node's bundled public roots. Verification itself can never be turned off.", true),
  clientCertFile: field.optionalString('PEM client certificate for servers that require one (set together with clientKeyFile).'),
  clientKeyFile: field.optionalString('PEM private key of the client certificate.'),
  proxy: field.optionalString('http://[user:pass@]host:port proxy for downloads; "direct" for none; null: HTTPS_PROXY / HTTP_PROXY from the environment.'),
  noProxy: field.custom<readonly string[] | null>('string[] | null', 'Hosts, .domains, host:port or IPv4/IPv6 CIDRs fetched without the proxy; null: NO_PROXY from the environment.', null, (v) => {
    if (v === null) return null;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error('expected an array of strings or null');
    return Object.freeze([...(v as string[])]);
  }),
  readDeadlineSeconds: field.number('A download attempt with no byte (or no response) for this long is a stall and is retried.', 30, { min: 1, max: 3600 }),
  retryMaxAttempts: field.number('Consecutive failed attempts without a new verified block before the download fails (E_FETCH_RETRIES).', 10, { min: 1, integer: true }),
  retryBaseMs: field.number('First retry delay ceiling; doubles per attempt, with full jitter.', 1000, { min: 1, integer: true }),
  retryCapMs: field.number('Largest retry delay.', 60_000, { min: 1, integer: true }),
  giveUpAfterMinutes: field.number('Fail (E_FETCH_RETRIES) when no new verified block arrived for this long.', 30, { min: 1 }),
  maxBlockRetries: field.number('Times one block may fail its hash before the download fails (E_FETCH_BLOCK_CORRUPT).', 3, { min: 0, integer: true }),
});

export type { ProxyEnvironment } from '../../net/proxy.ts';

/**
 * The proxy variables for the hub link and downloads. Only config code reads the environment.
 * Either case; the lower-case one wins, as with curl.
 */
export function proxyEnvironment(env: Record<string, string | undefined> = process.env): import('../../net/proxy.ts').ProxyEnvironment {
  const pick = (name: string) => env[name.toLowerCase()] || env[name] || null;
  return { httpsProxy: pick('HTTPS_PROXY'), httpProxy: pick('HTTP_PROXY'), noProxy: pick('NO_PROXY') };
}
