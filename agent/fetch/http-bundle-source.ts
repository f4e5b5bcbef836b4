// What a download from a URL is: a delta over HTTP range requests when the deployment offers
// local slots, the bundle is format 2 and the server serves ranges; a full download otherwise.
// from-config.ts loads this module at the first download (agent/bundle/deferred-source.ts).
import type { BundleSource } from '../bundle/source.ts';
import { HttpBundleSource, type HttpSourceOptions } from './http-source.ts';
import { DeltaBundleSource } from './delta/delta-source.ts';
import { HttpTransport, type TransportOptions } from '../net/http-transport.ts';

export function httpBundleSource(url: string, transport: TransportOptions, options: Omit<HttpSourceOptions, 'transport'>): BundleSource {
  const o: HttpSourceOptions = { ...options, transport: new HttpTransport(transport) };
  return new DeltaBundleSource(url, new HttpBundleSource(url, o), o);
}
