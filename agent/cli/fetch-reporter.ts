// What `outpost install URL` tells the operator about the download while it happens: the first
// connection error at once, with the retry plan, instead of minutes of silence before
// E_FETCH_RETRIES. A Logger for the fetcher that prints its warnings as plain lines on stderr.
import type { Logger } from '../log/logger.ts';
import type { CliIO } from './io.ts';

export interface RetryPlan {
  maxAttempts: number;
  giveUpAfterMinutes: number;
}

function describe(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown };
    const message = typeof e.message === 'string' ? e.message : String(err);
    return typeof e.code === 'string' && e.code.startsWith('E_') ? `${e.code}: ${message}` : message;
  }
  return String(err);
}

export function fetchReporter(io: CliIO, plan: RetryPlan, before: () => void): Logger {
  const say = (text: string) => {
    before();
    io.err.write(text.replace(/\s*\n\s*/g, ' ') + '\n');
  };
  const logger: Logger = {
    debug() {},
    info() {},
    warn(msg, fields = {}) {
      if (typeof fields.attempt === 'number' && typeof fields.delayMs === 'number') {
        const inS = (fields.delayMs / 1000).toFixed(1);
        say(
          `${msg.split(';')[0]}: ${describe(fields.error)}; retry ${fields.attempt} of ${plan.maxAttempts} in ${inS} s ` +
            `(gives up after ${plan.maxAttempts} failed attempts or ${plan.giveUpAfterMinutes} min without progress; Ctrl-C stops, \`outpost install --resume\` continues)`,
        );
      } else say(`warning: ${msg}${fields.error !== undefined ? `: ${describe(fields.error)}` : ''}`);
    },
    error(msg, fields = {}) {
      say(`error: ${msg}${fields.error !== undefined ? `: ${describe(fields.error)}` : ''}`);
    },
    child: () => logger,
  };
  return logger;
}
