// Operator API: bundles. Registering reads the file's signed manifest from the hub's bundles
// directory (the API never reads an arbitrary path); the list shows what each one is.
import type { HubContext } from '../context.ts';
import { isOutpostError } from '../../shared/errors.ts';
import { ApiError, type Handler } from './routes.ts';

export function bundleRoutes(ctx: HubContext): Record<string, Handler> {
  return {
    'GET /admin/bundles': async () => (await ctx.store.listBundles()).map(({ path: _path, ...b }) => b),
    'POST /admin/bundles': async ({ body }) => {
      if (typeof body.name !== 'string') throw new ApiError(400, 'E_API_REQUEST', '"name": a file in the hub\'s bundles directory');
      try {
        const { path: _path, ...b } = await ctx.bundles.register(body.name);
        return b;
      } catch (err) {
        throw new ApiError(400, 'E_API_BUNDLE', isOutpostError(err) ? `${err.code}: ${err.message}` : (err as Error).message);
      }
    },
  };
}
