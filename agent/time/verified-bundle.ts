// The hook the update machine calls once a bundle's head (manifest + signatures) is verified:
// the signed creation time raises the time floor. Never throws: a floor that cannot rise (an
// implausible time, a full disk) must not fail the update; it is logged.
import type { Logger } from '../log/logger.ts';
import type { TimeFloor } from './floor.ts';

export interface VerifiedHeadLike {
  readonly manifest: { readonly created: string };
}

export function timeFloorFromVerifiedHead(floor: Pick<TimeFloor, 'raiseFromBundle'>, log: Logger): (head: VerifiedHeadLike) => Promise<void> {
  return async (head) => {
    try {
      await floor.raiseFromBundle(head.manifest.created);
    } catch (err) {
      log.warn('bundle creation time not taken into the time floor', { created: head.manifest.created, err });
    }
  };
}
