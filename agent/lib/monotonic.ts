// Milliseconds on the monotonic clock (a wall-clock step does not move it), from libuv's
// uv_hrtime. The global `performance` would do as well, but reading it loads node:perf_hooks
// (~2 ms CPU at every install) for nothing else we use.
export const monotonicMs = (): number => process.uptime() * 1000;
