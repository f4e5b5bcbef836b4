// Reboots through a configured command (no shell). On a device the command returns and the
// kernel then stops us; in tests the command is the boot simulator and returns normally.
import type { CommandRunner, Rebooter } from './types.ts';
import { OutpostError } from '../../shared/errors.ts';

export interface RebooterOptions {
  command: readonly string[];
  timeoutMs: number;
  runner: CommandRunner;
}

export function commandRebooter({ command, timeoutMs, runner }: RebooterOptions): Rebooter {
  const [file, ...args] = command;
  if (!file) throw new OutpostError('E_CONFIG', 'update.rebootCommand is empty');
  return {
    async reboot(reason) {
      const r = await runner.run(file, args, { timeoutMs, env: { OUTPOST_REBOOT_REASON: reason } });
      if (r.code !== 0) {
        const why = r.timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${r.code ?? r.signal}`;
        throw new OutpostError('E_REBOOT', `reboot command ${file} ${why}: ${r.stderr.trim().slice(0, 500)}`, { retryable: true });
      }
    },
  };
}
