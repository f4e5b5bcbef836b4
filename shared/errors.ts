// One error type for agent and hub code alike. `code` is API: reports, tests and the README's
// troubleshooting table use it, so never rename a code once it has shipped. The codes live in
// ./error-codes.ts, so a code that is not registered there does not compile.
import type { ErrorCode } from './error-codes.ts';

export type { ErrorCode } from './error-codes.ts';

export class OutpostError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutpostError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export function isOutpostError(err: unknown, code?: ErrorCode): err is OutpostError {
  return err instanceof OutpostError && (code === undefined || err.code === code);
}

/** Wrap any thrown value with context, keeping an existing code unless a new one is given. */
export function wrapError(err: unknown, code: ErrorCode, context: string): OutpostError {
  if (err instanceof OutpostError) {
    return new OutpostError(err.code, `${context}: ${err.message}`, { retryable: err.retryable, cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new OutpostError(code, `${context}: ${message}`, { cause: err });
}
