// Which deployments this process itself wrote to the end. Right after writing, a read-back would
// be served from the page cache: it would prove nothing about the medium and cost a second pass
// over the whole image. The medium is read after the reboot instead (committing compares the
// slot's sha256 before marking it good). A deployment this process did not write (the agent
// restarted while it waited for an install window) is read back: the slot may have changed.
import type { HandlerContext } from './context.ts';

const written = new Set<string>();

const key = (ctx: HandlerContext) => `${ctx.deps.dir}\0${ctx.journal.id}`;

export function markWrittenHere(ctx: HandlerContext): void {
  written.add(key(ctx));
}

/** True once per deployment written by this process (the next check reads the slot again). */
export function takeWrittenHere(ctx: HandlerContext): boolean {
  return written.delete(key(ctx));
}
