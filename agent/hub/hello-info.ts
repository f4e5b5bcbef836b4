// What a node tells the hub about itself in hello besides its key: the compatible strings it
// accepts bundles for, its surveyed site and what the booted slot runs. A hub targets rollouts
// by these (and never offers a bundle to a board that cannot take it).
import type { Hello } from '../../shared/protocol/messages.ts';

export type HelloInfo = Pick<Hello, 'compatible' | 'site' | 'running'>;

/** Slot summary as the inventory reports it (agent/inventory/slot-summary.ts). */
interface SlotSummaryLike {
  booted?: unknown;
  slots?: unknown;
}

/** `running` from a slot summary: the booted slot's installed bundle, when it has one. */
export function runningOf(summary: SlotSummaryLike): HelloInfo['running'] {
  const booted = summary.booted;
  if (typeof booted !== 'string' || typeof summary.slots !== 'object' || summary.slots === null) return undefined;
  const slot = (summary.slots as Record<string, { version?: unknown; release?: unknown } | undefined>)[booted];
  if (typeof slot?.version !== 'string' || typeof slot.release !== 'number') return undefined;
  return { version: slot.version, release: slot.release, slot: booted };
}

/** Builds the hello fields from config values; a failing `running` lookup leaves it out. */
export function helloInfo(o: { compatible: readonly string[]; siteId: string | null; siteName: string | null; slots: (() => Promise<SlotSummaryLike>) | null; timeoutMs?: number }): () => Promise<HelloInfo> {
  return async () => {
    let running: HelloInfo['running'];
    let timer: NodeJS.Timeout | undefined;
    try {
      // Bounded: the slot status may wait for the update machine, which may itself wait for the
      // hub link (the "hub reachable" check after a reboot). Hello never waits long for it.
      const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), o.timeoutMs ?? 1000)));
      const summary = o.slots ? await Promise.race([o.slots(), late]) : null;
      running = summary ? runningOf(summary) : undefined;
    } catch {
      running = undefined; // the slot status is unreadable: say nothing rather than fail the link
    } finally {
      clearTimeout(timer);
    }
    const site = { ...(o.siteId ? { id: o.siteId } : {}), ...(o.siteName ? { name: o.siteName } : {}) };
    return { compatible: [...o.compatible], ...(Object.keys(site).length ? { site } : {}), ...(running ? { running } : {}) };
  };
}
