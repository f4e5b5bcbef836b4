// Health checks from config: each command must exit 0 within its timeout. Other checks (e.g.
// "hub reachable") are plugged in by app.ts with the same HealthCheck shape.
import type { CommandRunner } from '../platform/types.ts';
import type { HealthCheck } from './ports.ts';
import { OutpostError } from '../../shared/errors.ts';

export interface CommandCheckConfig {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly timeoutMs: number;
}

export function commandHealthCheck(c: CommandCheckConfig, runner: CommandRunner): HealthCheck {
  return {
    name: c.name,
    async check(signal) {
      const r = await runner.run(c.command, c.args, { timeoutMs: c.timeoutMs, signal, maxOutputBytes: 16 << 10 });
      if (r.timedOut) throw new OutpostError('E_HEALTH_TIMEOUT', `health check ${c.name} did not finish within ${c.timeoutMs} ms`);
      if (r.code !== 0) {
        const out = (r.stderr || r.stdout).trim().slice(-500);
        throw new OutpostError('E_HEALTH_CHECK', `health check ${c.name} exited with ${r.code ?? r.signal}${out ? `: ${out}` : ''}`);
      }
    },
  };
}
