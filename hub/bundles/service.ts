// Bundles the hub offers: registered from its bundles directory with their identity read from
// the signed manifest (version, release, compatible, manifestSha256: never typed by hand), and
// served only to accepted nodes holding a download token made for them (download-token.ts).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBundleIdentity } from '../../shared/bundle/identity.ts';
import { OutpostError } from '../../shared/errors.ts';
import type { Offer, Window } from '../../shared/protocol/index.ts';
import type { BundleRow, HubStore, NodeId } from '../store/types.ts';
import type { Logger } from '../../agent/log/logger.ts';
import { checkDownloadToken, makeDownloadToken } from './download-token.ts';
import { serveFile } from './serve.ts';

/** A bundle id is its file name in the bundles directory. */
export const BUNDLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export interface BundleServiceOptions {
  store: HubStore;
  dir: string;
  /** Key of the download tokens (shared by every hub process on one database). */
  secret: Buffer;
  /** Base URL nodes download from (the agent endpoint's URL unless configured). */
  publicUrl: () => string;
  /** How long an offer's download link stays valid. */
  tokenTtlS: number;
  log: Logger;
  now: () => number;
}

export interface OfferOptions {
  deploymentId: string;
  commandId: string;
  now?: true;
  windows?: Window[];
  installWindows?: Window[];
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

export class BundleService {
  #o: BundleServiceOptions;

  constructor(o: BundleServiceOptions) {
    this.#o = o;
  }

  /** Reads the file's signed manifest and stores what it is; a file that is not a bundle is refused. */
  async register(name: string): Promise<BundleRow> {
    if (!BUNDLE_NAME.test(name) || name.includes('..')) throw new OutpostError('E_BUNDLE_NAME', `bad bundle name ${JSON.stringify(name.slice(0, 100))}`);
    const path = join(this.#o.dir, name);
    const id = await readBundleIdentity(path);
    const row: BundleRow = {
      id: name, path, size: id.size, sha256: await sha256File(path), manifestSha256: id.manifestSha256,
      version: id.version, release: id.release, compatible: [...id.compatible], addedAt: this.#o.now(),
    };
    await this.#o.store.putBundle(row);
    return row;
  }

  /** Registers every bundle file in the directory (at start); files that are not bundles are logged. */
  async registerDir(): Promise<BundleRow[]> {
    const out: BundleRow[] = [];
    for (const name of (await readdir(this.#o.dir).catch(() => [] as string[])).sort()) {
      if (!BUNDLE_NAME.test(name)) continue;
      try {
        out.push(await this.register(name));
      } catch (err) {
        this.#o.log.warn('not registered: not a readable bundle', { name, code: (err as OutpostError).code, err: (err as Error).message });
      }
    }
    return out;
  }

  /** The download URL for this node: valid for tokenTtlS, for this node and bundle only. */
  urlFor(nodeId: NodeId, bundle: BundleRow): string {
    const exp = Math.floor(this.#o.now() / 1000) + this.#o.tokenTtlS;
    const t = makeDownloadToken(this.#o.secret, { node: nodeId, bundle: bundle.id, exp });
    return `${this.#o.publicUrl()}/bundles/${encodeURIComponent(bundle.id)}?t=${t}`;
  }

  /** The offer a node gets for `bundle`: its identity comes from the manifest, never from input. */
  offer(nodeId: NodeId, bundle: BundleRow, o: OfferOptions): Offer {
    return {
      v: 1, type: 'offer', id: o.commandId, deploymentId: o.deploymentId,
      bundle: { url: this.urlFor(nodeId, bundle), size: bundle.size, sha256: bundle.sha256, manifestSha256: bundle.manifestSha256 },
      version: bundle.version, release: String(bundle.release),
      ...(o.now ? { now: true as const } : {}),
      ...(o.windows ? { windows: o.windows } : {}),
      ...(o.installWindows ? { installWindows: o.installWindows } : {}),
    };
  }

  /** GET/HEAD /bundles/ID?t=TOKEN: 404 for anything but an accepted node's valid token. */
  async serve(id: string, req: IncomingMessage, res: ServerResponse, token: string | null): Promise<void> {
    const claims = token ? checkDownloadToken(this.#o.secret, token, id, Math.floor(this.#o.now() / 1000)) : null;
    // One answer for every refusal (no token, bad, expired, not accepted, unknown bundle), so a
    // caller learns nothing about which bundles or nodes exist.
    const refuse = () => void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    if (!claims) return refuse();
    const [node, bundle] = await Promise.all([this.#o.store.getNode(claims.node), this.#o.store.getBundle(id)]);
    if (node?.status !== 'accepted' || !bundle) return refuse();
    await serveFile(bundle.path, req, res);
  }
}
