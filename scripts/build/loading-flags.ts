// The agent binary's V8 flags while its program loads. Node's own modules come with a V8 code cache
// built into the runtime under V8's default flags, and V8 accepts a code cache only under the flags
// it was made with: it hashes every flag that differs from its default. Two of the binary's flags
// are hashed, the memory balancer's (sea.ts says why they are there), so every built-in module a
// command required was compiled from source.
// The balancer itself is made when the heap is set up, from the command line. After that V8 asks
// the flag at each full collection, and it feeds and consults the balancer only inside the atomic
// pause of one, where no JavaScript runs. So the binary starts with the balancer, sets its two
// flags to V8's defaults while the program and its command load, and sets them back before the
// command runs. A worker's heap is set up under the flags of the moment it starts: none may start in
// between (only `bundle create` starts workers, from its command).
// Flags V8 hashes that the binary wants only once the command runs are set then (AFTER_LOADING_FLAGS).
import { setFlagsFromString } from 'node:v8';

/** The balancer's flags in the binary's runtime flags (sea.ts RUNTIME_FLAGS). */
export const BALANCER_FLAGS = ['--memory-balancer', '--memory-balancer-c-value=1e-8'] as const;

/** The same flags at V8's defaults (`node --v8-options`): with these the flag hash is V8's default one. */
export const V8_DEFAULT_BALANCER_FLAGS = ['--no-memory-balancer', '--memory-balancer-c-value=3e-10'] as const;

/**
 * Set when the command has loaded. Bytecode that has not run for about 2 s (V8's age counts whole
 * seconds between full collections; its default is 6) is dropped at the next full collection, and
 * compiled again if it is called: what ran only while the command started (config checks, the
 * head's verification, what the code cache held for other commands) stops holding memory sooner.
 * A 4 GiB delta, two sets of 5 interleaved runs: 31.7 and 31.5 MiB against 32.9 and 31.9 (highest
 * run 34.3 and 32.1 against 33.7 and 34.3), CPU the same (16.0 s).
 */
export const AFTER_LOADING_FLAGS = ['--bytecode-old-age=2'] as const;

/**
 * Whether the balancer was set up as the binary sets it, and nothing else touches it: NODE_OPTIONS
 * may switch it off, and switching it on where it was never set up would crash at the next full
 * collection.
 */
export function startedWithBalancer(execArgv: readonly string[], nodeOptions = ''): boolean {
  const touches = (s: string) => /memory[-_]balancer/i.test(s);
  return BALANCER_FLAGS.every((f) => execArgv.includes(f)) &&
    execArgv.filter(touches).length === BALANCER_FLAGS.length && !touches(nodeOptions);
}

/**
 * Sets the balancer's flags to V8's defaults, so built-in modules load from Node's code cache.
 * Returns what sets them back, with AFTER_LOADING_FLAGS (once; later calls do nothing).
 */
export function defaultFlagsWhileLoading(set: (flag: string) => void = setFlagsFromString): () => void {
  for (const f of V8_DEFAULT_BALANCER_FLAGS) set(f);
  let loaded = false;
  return () => {
    if (loaded) return;
    loaded = true;
    for (const f of [...BALANCER_FLAGS, ...AFTER_LOADING_FLAGS]) set(f);
  };
}
