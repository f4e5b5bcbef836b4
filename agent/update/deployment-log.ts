// Per-deployment log: every line the update machine logs for one deployment is also kept on
// disk (JSON lines, bounded) so the final report can tell the hub why a node rolled back.
import { appendFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';

export function deploymentLogPath(dir: string, id: string): string {
  return join(dir, 'deployments', `${id}.log`);
}

/** A logger that writes to `base` and appends each line to the deployment's log file. */
export function captureLogger(base: Logger, path: string, maxBytes: number, now: () => number): Logger {
  try {
    mkdirSync(join(path, '..'), { recursive: true });
  } catch {
    // a full or failing state disk: the appends below say so
  }
  let size = fileSize(path);
  let truncatedNoted = false;
  // A full state disk must not turn a log line into a failed step: lines are dropped and counted.
  let dropped = 0;
  const append = (text: string): boolean => {
    try {
      appendFileSync(path, text);
      return true;
    } catch (err) {
      if (dropped++ === 0) base.warn('cannot keep the deployment log; dropping its lines until the state disk takes them', { err });
      return false;
    }
  };
  const keep = (level: string, msg: string, fields?: Record<string, unknown>) => {
    const line = JSON.stringify({ t: new Date(now()).toISOString(), level, msg, ...plain(fields) }) + '\n';
    if (size + line.length > maxBytes) {
      if (!truncatedNoted) truncatedNoted = append('{"level":"warn","msg":"log truncated"}\n');
      return;
    }
    if (dropped > 0) {
      const note = JSON.stringify({ t: new Date(now()).toISOString(), level: 'warn', msg: 'deployment log lines dropped (state disk full or failing)', dropped }) + '\n';
      if (!append(note)) return;
      size += note.length;
      dropped = 0;
    }
    // Synchronous append keeps lines ordered and on disk before a reboot command runs.
    if (append(line)) size += line.length;
  };
  const wrap = (l: Logger): Logger => ({
    debug: (m, f) => (l.debug(m, f), keep('debug', m, f)),
    info: (m, f) => (l.info(m, f), keep('info', m, f)),
    warn: (m, f) => (l.warn(m, f), keep('warn', m, f)),
    error: (m, f) => (l.error(m, f), keep('error', m, f)),
    child: (c, f) => wrap(l.child(c, f)),
  });
  return wrap(base);
}

export function readDeploymentLog(dir: string, id: string): string[] {
  try {
    return readFileSync(deploymentLogPath(dir, id), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function plain(fields?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields ?? {})) {
    out[k] = v instanceof Error ? { message: v.message, code: (v as { code?: unknown }).code } : v;
  }
  return out;
}
