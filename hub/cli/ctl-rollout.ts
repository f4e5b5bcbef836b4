// `outpost-hub ctl rollout create|list|show|pause|resume|abort`: readable tables by default,
// the API's JSON with --json. The operator API does the work (hub/api/rollout-routes.ts).
import { parseArgs } from 'node:util';
import type { CliIO } from '../../agent/cli/io.ts';
import { OutpostError } from '../../shared/errors.ts';
import { call, ctlTarget } from './ctl-client.ts';
import { rolloutListTable, rolloutShowText, type RolloutListItem, type RolloutView } from './rollout-format.ts';

/** Flags of `ctl` itself that may come before the command (and take a value). */
const GLOBAL_WITH_VALUE = new Set(['--hub', '--token', '--token-file']);

/** True when `outpost-hub ctl [global flags] rollout …`: the rollout command parses its own flags. */
export function isRolloutCommand(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBAL_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith('-')) return a === 'rollout';
  }
  return false;
}

export const ROLLOUT_USAGE = `usage: outpost-hub ctl [--hub URL] [--token T | --token-file F] [--json] rollout COMMAND [options]
  create --bundle NAME --waves LIST [target] [limits] [--id ID] [--name TEXT] [--now]
         LIST: wave ends, cumulative: "1%,10%,50%,100%" or "1,5,100%"
         target (all must match): --group G --label L --compatible C --site ID --region R
         limits: --max-failures N  --max-failure-percent P   (default: any failure pauses)
                 --deadline S (a started node must commit within S seconds; default 3600)
                 --min-success P (a wave needs P% of its finished nodes committed; default 0)
  list [--status running|paused|completed|aborted]
  show ID
  pause ID [--reason TEXT]      no new offers; offers already out continue
  resume ID                     offers go out again; failures so far are accepted
  abort ID [--reason TEXT]      stop for good; offers not started yet are cancelled
`;

function usage(message: string): never {
  throw new OutpostError('E_USAGE', `${message}\n${ROLLOUT_USAGE}`);
}

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) usage(`${flag} expects a number`);
  return n;
}

/** `args`: everything after `ctl`, the word `rollout` included. */
export async function rolloutCtl(args: string[], io: CliIO): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      hub: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, help: { type: 'boolean' },
      bundle: { type: 'string' }, waves: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' }, now: { type: 'boolean' },
      group: { type: 'string' }, label: { type: 'string' }, compatible: { type: 'string' }, site: { type: 'string' }, region: { type: 'string' },
      'max-failures': { type: 'string' }, 'max-failure-percent': { type: 'string' }, deadline: { type: 'string' }, 'min-success': { type: 'string' },
      status: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' },
    },
  });
  if (v.help) return done(io, ROLLOUT_USAGE);
  const json = v.json === true;
  const [, sub, id] = positionals;
  const t = ctlTarget(v);
  const o = { io, call: (method: string, path: string, body?: unknown) => call(t, method, path, body) };
  const path = (x: string) => `/admin/rollouts/${encodeURIComponent(x)}`;
  const needId = () => id ?? usage(`rollout ${sub} needs the rollout id`);
  let out: unknown;
  switch (sub) {
    case 'create': {
      if (!v.bundle || !v.waves) usage('rollout create needs --bundle and --waves');
      const target = {
        ...(v.group ? { group: v.group } : {}), ...(v.label ? { label: v.label } : {}), ...(v.compatible ? { compatible: v.compatible } : {}),
        ...(v.site ? { siteId: v.site } : {}), ...(v.region ? { region: v.region } : {}),
      };
      const limits = {
        maxFailures: num(v['max-failures'], '--max-failures'), maxFailurePercent: num(v['max-failure-percent'], '--max-failure-percent'),
        deadlineS: num(v.deadline, '--deadline'), minSuccessPercent: num(v['min-success'], '--min-success'),
      };
      out = await o.call('POST', '/admin/rollouts', {
        bundle: v.bundle, waves: v.waves.split(',').map((w) => w.trim()).filter(Boolean), target,
        ...Object.fromEntries(Object.entries(limits).filter(([, x]) => x !== undefined)),
        ...(v.id ? { id: v.id } : {}), ...(v.name ? { name: v.name } : {}), ...(v.now ? { now: true } : {}),
      });
      break;
    }
    case 'list':
      out = await o.call('GET', `/admin/rollouts${v.status ? `?status=${encodeURIComponent(v.status)}` : ''}`);
      if (!json) return done(o.io, rolloutListTable(out as RolloutListItem[]));
      break;
    case 'show':
      out = await o.call('GET', path(needId()));
      break;
    case 'pause':
    case 'resume':
    case 'abort':
      out = await o.call('POST', `${path(needId())}/${sub}`, v.reason ? { reason: v.reason } : {});
      break;
    default:
      usage(sub ? `unknown rollout command "${sub}"` : 'rollout needs a command');
  }
  if (json) return done(o.io, JSON.stringify(out, null, 2));
  return done(o.io, rolloutShowText(out as RolloutView));
}

function done(io: CliIO, text: string): number {
  io.out.write(text.endsWith('\n') ? text : `${text}\n`);
  return 0;
}
