// `outpost bundle trust init|rotate|sign|show`: produce and check trust documents (docs/bundles.md).
import { readFile } from 'node:fs/promises';
import type { CliIO } from '../../cli/io.ts';
import { writeFileAtomic } from '../../lib/atomic-file.ts';
import { OutpostError } from '../../../shared/errors.ts';
import {
  applyRotation, encodeTrustDocument, parseTrustDocument, signTrustDocument, validateTrustDocument, type TrustDocument,
} from '../../../shared/bundle/trust.ts';
import { readPublicKey, readSigningKey } from '../key-files.ts';
import { loadTrustStore } from '../trust-file.ts';
import { integer, one, parse, printHelp, required, usageError } from './args.ts';

const HELP = `
usage: outpost bundle trust init   --key PUB [--key PUB …] [--threshold K] [--revoke ID …] [--version N] --out FILE
       outpost bundle trust rotate --from DIR|FILE --key PUB [--key PUB …] [--threshold K] [--revoke ID …]
                                   [--sign PRIV …] --out FILE
       outpost bundle trust sign   FILE --key PRIV [--key PRIV …]
       outpost bundle trust show   DIR|FILE
init writes a root trust document (provisioned on nodes as root.json). rotate writes the next
version, signed by keys of the current store; nodes accept it once it carries the current
threshold of signatures (add more with \`trust sign\`). Revocations are carried forward; the
threshold defaults to the current one.
`;

async function publicKeys(paths: string[]): Promise<Array<{ id: string; publicKey: string }>> {
  return Promise.all(
    paths.map(async (p) => {
      const k = await readPublicKey(p);
      return { id: k.id, publicKey: k.publicHex };
    }),
  );
}

async function signAll(doc: TrustDocument, privs: string[]): Promise<TrustDocument> {
  for (const p of privs) doc = signTrustDocument(doc, await readSigningKey(p));
  return doc;
}

export async function trust(args: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = args;
  const opts = {
    key: { type: 'string', multiple: true },
    threshold: { type: 'string' },
    revoke: { type: 'string', multiple: true },
    version: { type: 'string' },
    from: { type: 'string' },
    sign: { type: 'string', multiple: true },
    out: { type: 'string' },
  } as const;
  if (sub === '--help' || sub === '-h') return printHelp(io, HELP);
  if (sub === undefined) throw usageError('missing trust command (init, rotate, sign, show)');
  const { values, positionals } = parse(rest, opts);
  if (values.help) return printHelp(io, HELP);
  switch (sub) {
    case 'init': {
      const keys = await publicKeys(required(values.key, '--key'));
      const doc = validateTrustDocument({
        format: 1,
        version: values.version === undefined ? 1 : integer(values.version, '--version', 1),
        threshold: values.threshold === undefined ? 1 : integer(values.threshold, '--threshold', 1),
        keys,
        revoked: values.revoke ?? [],
        signatures: [],
      });
      await writeFileAtomic(required(values.out, '--out'), encodeTrustDocument(doc));
      io.out.write(`wrote ${values.out}: version ${doc.version}, ${doc.threshold} of ${doc.keys.length} keys\n`);
      return 0;
    }
    case 'rotate': {
      const current = await loadTrustStore(required(values.from, '--from'));
      const keys = await publicKeys(required(values.key, '--key'));
      let doc = validateTrustDocument({
        format: 1,
        version: current.version + 1,
        // default: keep the current threshold (a rotation should not quietly weaken it)
        threshold: values.threshold === undefined ? Math.min(current.threshold, keys.length) : integer(values.threshold, '--threshold', 1),
        keys,
        revoked: [...new Set([...current.revoked, ...(values.revoke ?? [])])],
        signatures: [],
      });
      doc = await signAll(doc, values.sign ?? []);
      await writeFileAtomic(required(values.out, '--out'), encodeTrustDocument(doc));
      io.out.write(`wrote ${values.out}: version ${doc.version}; ${rotationStatus(current, doc)}\n`);
      return 0;
    }
    case 'sign': {
      const file = one(positionals, 'FILE');
      const doc = await signAll(parseTrustDocument(await readFile(file, 'utf8')), required(values.key, '--key'));
      await writeFileAtomic(file, encodeTrustDocument(doc));
      io.out.write(`${file}: signed by ${doc.signatures.map((s) => s.keyId).join(', ')}\n`);
      return 0;
    }
    case 'show': {
      const s = await loadTrustStore(one(positionals, 'DIR|FILE'));
      const out = { version: s.version, threshold: s.threshold, keys: [...s.keys.values()].map((k) => ({ id: k.id, publicKey: k.publicHex })), revoked: [...s.revoked] };
      io.out.write(JSON.stringify(out, null, 2) + '\n');
      return 0;
    }
    default:
      throw usageError(`unknown trust command "${sub}" (init, rotate, sign, show)`);
  }
}

function rotationStatus(current: Awaited<ReturnType<typeof loadTrustStore>>, doc: TrustDocument): string {
  try {
    applyRotation(current, doc);
    return `ready: signed by the current threshold (${current.threshold})`;
  } catch (err) {
    if (err instanceof OutpostError) return `not yet accepted by nodes: ${err.message}`;
    throw err;
  }
}
