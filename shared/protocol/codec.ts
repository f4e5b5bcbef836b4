// Parse + validate every frame before anything acts on it. No schema library: the checks are
// short, explicit, and return fresh objects holding only known fields (frame.ts, fields.ts, and
// one file of readers per direction).
import { ProtocolViolation } from './check.ts';
import type { AgentMessage, HubMessage, Report } from './messages.ts';
import { decode, type Decoded } from './frame.ts';
import { AGENT } from './decode-agent.ts';
import { HUB } from './decode-hub.ts';

export { ProtocolViolation } from './check.ts';
export type { Decoded } from './frame.ts';
export { pushedConfig } from './decode-hub.ts';

/** Hub side: decode one frame from an agent. */
export function decodeAgentMessage(frame: string | Buffer): Decoded<AgentMessage> {
  return decode(frame, AGENT);
}

/** Agent side: decode one frame from a hub. */
export function decodeHubMessage(frame: string | Buffer): Decoded<HubMessage> {
  return decode(frame, HUB);
}

/** Encodes after validating with the same rules, so neither side can send what it would refuse. */
export function encodeAgentMessage(m: AgentMessage): string {
  return encodeChecked(m, decodeAgentMessage);
}

export function encodeHubMessage(m: HubMessage): string {
  // A hub MUST pin what it offers (PROTOCOL.md §5 offer). Decoding stays lenient about it so an
  // agent answers an older hub's unpinned offer with a coded ack (E_OFFER_UNPINNED).
  if (m.type === 'offer' && !m.bundle?.manifestSha256) throw new ProtocolViolation('E_OFFER_UNPINNED', 'refusing to send an offer without bundle.manifestSha256');
  return encodeChecked(m, decodeHubMessage);
}

function encodeChecked<T>(m: T, check: (f: string) => Decoded<unknown>): string {
  const s = JSON.stringify(m);
  const d = check(s);
  if (!d.ok) throw new ProtocolViolation(d.code, `refusing to send invalid ${(m as { type?: string }).type}: ${d.reason}`);
  return s;
}

export function isReport(m: AgentMessage): m is Report {
  return m.type !== 'hello' && m.type !== 'auth' && m.type !== 'ack' && m.type !== 'error';
}
