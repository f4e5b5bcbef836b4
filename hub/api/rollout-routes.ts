// Operator API: rollouts. Create one from a registered bundle + target + waves + threshold, list
// them, show one (per-wave progress, why it paused), pause, resume, abort. The rules live in
// hub/rollouts/; this file only maps HTTP to them.
import type { HubContext } from '../context.ts';
import { RolloutError } from '../rollouts/actions.ts';
import { createRollout } from '../rollouts/create.ts';
import type { RolloutDriver } from '../rollouts/driver.ts';
import { act, summary, view, type Action } from '../rollouts/operate.ts';
import type { RolloutStatus } from '../rollouts/types.ts';
import { ApiError, type ApiRequest, type Handler } from './routes.ts';
import { bundleFor } from './command-routes.ts';

const STATUSES: readonly RolloutStatus[] = ['running', 'paused', 'completed', 'aborted'];

/** RolloutError → the API's refusal with the same code. */
function api<T>(f: (req: ApiRequest) => Promise<T>): Handler {
  return async (req) => {
    try {
      return await f(req);
    } catch (err) {
      if (err instanceof RolloutError) throw new ApiError(err.status, err.code, err.message);
      throw err;
    }
  };
}

export function rolloutRoutes(ctx: HubContext, driver: RolloutDriver): Record<string, Handler> {
  const show = async (id: string) => {
    const snap = await driver.snapshot(id);
    if (!snap) throw new RolloutError('E_ROLLOUT_UNKNOWN', `no rollout ${id.slice(0, 64)}`, 404);
    return view(snap.row, snap.plan);
  };
  const action = (a: Action): Handler => api(async (req) => {
    const reason = typeof req.body.reason === 'string' ? req.body.reason.slice(0, 500) : '';
    const row = await act(ctx.store, driver, req.params.id!, a, reason, ctx.now);
    ctx.log.info(`rollout ${a}`, { rollout: row.id, operator: req.operator.name, reason });
    return show(row.id);
  });
  return {
    'POST /admin/rollouts': api(async (req) => {
      const bundle = await bundleFor(ctx, req.body.bundle);
      const row = await createRollout(ctx.store, { bundle, body: req.body, createdBy: req.operator.name, now: ctx.now() });
      ctx.log.info('rollout created', { rollout: row.id, bundle: bundle.id, operator: req.operator.name });
      await driver.step(row.id); // opens wave 1 and sends its offers before answering
      return show(row.id);
    }),
    'GET /admin/rollouts': api(async (req) => {
      const status = req.query.get('status');
      if (status !== null && !(STATUSES as readonly string[]).includes(status)) throw new RolloutError('E_ROLLOUT_SPEC', `status: ${STATUSES.join(' | ')}`, 400);
      const rows = await ctx.store.listRollouts(status ? { status: status as RolloutStatus } : {}, { limit: 1000 });
      return rows.map(summary);
    }),
    'GET /admin/rollouts/:id': api(async (req) => show(req.params.id!)),
    'POST /admin/rollouts/:id/pause': action('pause'),
    'POST /admin/rollouts/:id/resume': action('resume'),
    'POST /admin/rollouts/:id/abort': action('abort'),
  };
}
