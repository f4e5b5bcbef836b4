// Trust and client identity for every TLS connection (the hub link and downloads). Verification is always on: the only knobs add
// trust (a CA bundle) or narrow it (no public CAs); none turns checking off.
import { readFile } from 'node:fs/promises';
import { OutpostError } from '../../shared/errors.ts';
import { tls } from './lazy-tls.ts';

export interface TlsSettings {
  /** PEM file with extra CA certificates (a private PKI). */
  readonly caFile: string | null;
  /** Trust the OS store and Node's bundled public roots (default true). */
  readonly publicCas: boolean;
  readonly clientCertFile: string | null;
  readonly clientKeyFile: string | null;
}

export interface TlsMaterial {
  readonly ca: readonly string[];
  readonly cert?: string;
  readonly key?: string;
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new OutpostError('E_FETCH_TLS_CONFIG', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export async function loadTlsMaterial(s: TlsSettings): Promise<TlsMaterial> {
  const extra: string[] = [];
  if (s.caFile) {
    const pem = await readPem(s.caFile, 'CA file');
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (certs.length === 0) throw new OutpostError('E_FETCH_TLS_CONFIG', `CA file ${s.caFile} holds no PEM certificate`);
    extra.push(...certs);
  }
  // Node's bundled roots are never empty, so only "no public CAs and no CA file" leaves none.
  if (!s.publicCas && extra.length === 0) throw new OutpostError('E_FETCH_TLS_CONFIG', 'no trusted CAs: publicCas is off and no caFile is set');
  if ((s.clientCertFile === null) !== (s.clientKeyFile === null)) {
    throw new OutpostError('E_FETCH_TLS_CONFIG', 'clientCertFile and clientKeyFile must be set together');
  }
  const cert = s.clientCertFile ? await readPem(s.clientCertFile, 'client certificate') : undefined;
  const key = s.clientKeyFile ? await readPem(s.clientKeyFile, 'client key') : undefined;
  // The public roots are read on first use: parsing the OS store costs ~80 ms of CPU, which every
  // `outpost run` paid at start even with a plain-http hub and no https download in sight.
  let ca: readonly string[] | null = null;
  const publicCas = s.publicCas;
  return {
    get ca(): readonly string[] {
      // 'system' is the OS store (what an image's ca-certificates package maintains); 'bundled' keeps
      // minimal images without a store working; 'default' adds NODE_EXTRA_CA_CERTS.
      ca ??= publicCas ? [...new Set([...tls().getCACertificates('system'), ...tls().getCACertificates('bundled'), ...tls().getCACertificates('default')]), ...extra] : extra;
      return ca;
    },
    ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
  };
}
