import { defineSection, field } from '../schema.ts';

const ms = (doc: string, def: number, min: number) => field.number(doc, def, { min, integer: true });

export const hub = defineSection('hub', 'The outbound websocket link to the hub (docs/hub.md).', {
  url: field.optionalString('Hub endpoint, e.g. "wss://hub.example.com/agent". null: no hub link (the agent still runs).'),
  caFile: field.optionalString('PEM file of the CA(s) trusted for the hub (a private PKI). With it, public CAs are trusted only when trustPublicCAs is true.'),
  trustPublicCAs: field.custom<boolean | null>(
    'boolean | null',
    'Trust the public CAs (OS store, Node\'s bundled roots) for the hub. null: true without caFile, false with it (a public CA cannot vouch for a forged hub).',
    null,
    (v) => {
      if (v === null || typeof v === 'boolean') return v;
      throw new Error(`expected true, false or null, got ${JSON.stringify(v)}`);
    },
  ),
  certFile: field.optionalString('PEM client certificate for mutual TLS (with keyFile).'),
  keyFile: field.optionalString('PEM private key of the client certificate.'),
  deviceId: field.custom<string | null>(
    'string | null',
    'Device id sent in hello (1-128 of A-Z a-z 0-9 . _ : -). null: "fp-" + the first 16 hex digits of the key fingerprint.',
    null,
    (v) => {
      if (v === null) return null;
      if (typeof v !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(v)) throw new Error('expected 1-128 characters of A-Z a-z 0-9 . _ : -');
      return v;
    },
  ),
  proxy: field.optionalString('http://[user:pass@]host:port proxy for CONNECT tunnelling; "direct" for none; null: https_proxy / HTTPS_PROXY from the environment (http_proxy for ws://), honouring NO_PROXY like downloads.'),
  pingIntervalMs: ms('Heartbeat: the agent pings the hub this often (the hub never pings); a link silent for two intervals is terminated and redialled.', 60_000, 100),
  authTimeoutMs: ms('The handshake (hello to auth.result) must finish within this time.', 15_000, 100),
  backoffBaseMs: ms('First reconnect delay ceiling; doubles per failed attempt (full jitter).', 1_000, 10),
  backoffCapMs: ms('Largest reconnect delay ceiling.', 300_000, 100),
  stableAfterMs: ms('A link that stayed authenticated this long resets the backoff.', 60_000, 0),
  outboxMaxBytes: ms('Bound on unacknowledged report bytes before telemetry is coalesced.', 4 * 1024 * 1024, 64 * 1024),
  outboxMaxCount: ms('Bound on unacknowledged reports before telemetry is coalesced.', 20_000, 16),
  inventoryIntervalS: ms('Extra inventory check every N seconds besides inventory.schedule (0: the cron schedule only). Only changes are sent.', 0, 0),
  locationIntervalS: ms('How often location is reported.', 300, 1),
  healthDeadlineMs: ms('The "hub reachable" health check needs a pong within this time.', 5_000, 10),
});

/**
 * systemd's variables for `outpost run` (notify socket, watchdog), raw. Read here because only
 * agent/config/ reads the environment; agent/platform/service-notify.ts parses them.
 */
export function daemonEnvironment(env: Record<string, string | undefined> = process.env): Record<string, string | undefined> {
  return { NOTIFY_SOCKET: env.NOTIFY_SOCKET, WATCHDOG_USEC: env.WATCHDOG_USEC, WATCHDOG_PID: env.WATCHDOG_PID };
}
