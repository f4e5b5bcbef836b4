// `outpost-hub token create NAME | list | revoke ID --store URL`: operator tokens, managed on
// the store directly (whoever can open the hub's database is already trusted). A token's
// plaintext is printed once at creation; the store keeps only its hash.
import { parseArgs } from 'node:util';
import type { CliIO } from '../../agent/cli/io.ts';
import { openStore } from '../store/open.ts';

const USAGE = 'usage: outpost-hub token create NAME | list | revoke ID  --store URL [--json]\n';

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { store: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
  const [cmd, arg] = positionals;
  if (values.help) {
    io.out.write(USAGE);
    return 0;
  }
  if (!values.store || !cmd || ((cmd === 'create' || cmd === 'revoke') && !arg)) {
    io.err.write(`E_USAGE: ${USAGE}`);
    return 2;
  }
  const store = await openStore({ url: values.store });
  try {
    switch (cmd) {
      case 'create': {
        const { token, row } = await store.createToken(arg!, Date.now());
        io.out.write(values.json ? JSON.stringify({ ...row, token }) + '\n' : `token ${row.id} (${row.name}), shown once:\n${token}\n`);
        return 0;
      }
      case 'list': {
        const rows = await store.listTokens();
        if (values.json) io.out.write(JSON.stringify(rows, null, 2) + '\n');
        else {
          const iso = (t: number | null) => (t === null ? '-' : new Date(t).toISOString().slice(0, 19) + 'Z');
          io.out.write(`${'ID'.padEnd(24)} ${'NAME'.padEnd(20)} ${'HINT'.padEnd(12)} ${'CREATED'.padEnd(20)} ${'LAST USED'.padEnd(20)} REVOKED\n`);
          for (const r of rows) io.out.write(`${r.id.padEnd(24)} ${r.name.slice(0, 20).padEnd(20)} ${r.hint.padEnd(12)} ${iso(r.createdAt).padEnd(20)} ${iso(r.lastUsedAt).padEnd(20)} ${iso(r.revokedAt)}\n`);
        }
        return 0;
      }
      case 'revoke': {
        const ok = await store.revokeToken(arg!, Date.now());
        if (!ok) {
          io.err.write(`E_USAGE: no live token ${arg}\n`);
          return 1;
        }
        io.out.write(`revoked ${arg}\n`);
        return 0;
      }
      default:
        io.err.write(`E_USAGE: ${USAGE}`);
        return 2;
    }
  } finally {
    await store.close();
  }
}
