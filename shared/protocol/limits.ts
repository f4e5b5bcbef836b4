// Protocol constants shared by agents and hubs. Changing a limit is a protocol change: document it
// in shared/PROTOCOL.md and keep old agents working.
export const PROTOCOL_VERSION = 1;

/** Largest websocket message either side accepts (bytes). Bigger frames close the link (1009). */
export const MAX_FRAME_BYTES = 64 * 1024;

export const LIMITS = {
  id: 64,
  deviceId: 128,
  shortText: 64,
  text: 1024,
  url: 2048,
  log: 8 * 1024, // worst-case JSON escaping (6 bytes a char) still fits a frame
  capabilities: 32,
  /** hello.compatible entries (the bundle format's limit). */
  compatible: 16,
  /** Bundle labels: compatible strings, versions. */
  label: 128,
  inventoryKeys: 512,
  inventoryKey: 128,
  inventoryValue: 4096,
  windows: 16,
  /** Longest window: 31 days. */
  windowMinutes: 31 * 24 * 60,
  healthChecks: 16,
  maxBackoffS: 86_400,
} as const;

/**
 * Text the agent signs: binds the hub's one-time nonce to the device id it claims and to the hub
 * it dialled (`hubHost`: host[:port] of the URL, exactly the Host header the agent sends), so a
 * signature made for one hub cannot be relayed to another.
 */
export function authMessage(nonce: string, deviceId: string, hubHost: string): Buffer {
  return Buffer.from(`outpost-auth-v2\n${nonce}\n${deviceId}\n${hubHost.toLowerCase()}`, 'utf8');
}

/** The hubHost of a hub URL: host[:port], the port left out when it is the scheme's default (as the Host header). */
export function hubHostOf(url: string): string {
  return new URL(url).host.toLowerCase();
}
