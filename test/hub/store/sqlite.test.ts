// The store suite on the default store: a fresh SQLite file per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { openSqliteStore } from '../../../hub/store/sqlite/index.ts';
import { storeSuite } from './store-suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'hub-store-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeSuite({
  name: 'sqlite',
  async fresh() {
    const sub = join(dir, `t${++n}`);
    const file = join(sub, 'hub.db');
    return {
      open: (limits) => openSqliteStore(file, limits ? { limits } : {}),
      async query(sql, params = []) {
        const db = new DatabaseSync(file, { timeout: 240_000 });
        try {
          const st = db.prepare(sql);
          return /^\s*select/i.test(sql) ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
        } finally {
          db.close();
        }
      },
      async drop() {
        rmSync(sub, { recursive: true, force: true });
      },
    };
  },
});
