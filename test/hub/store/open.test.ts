// openStore: which store a --store URL opens, and the clear errors for the ones it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../../hub/store/open.ts';
import { isOutpostError } from '../../../shared/errors.ts';

test('sqlite: URLs and bare paths open a file store, creating its directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hub-store-open-'));
  try {
    for (const url of [`sqlite:${join(dir, 'a', 'hub.db')}`, join(dir, 'b', 'hub.db'), `sqlite:${join(dir, 'c.db')}?synchronous=normal`, `sqlite:${join(dir, 'd.db')}?group=1`, ':memory:']) {
      const s = await openStore({ url, limits: { pendingMax: 7 } });
      assert.equal(s.dialect, 'sqlite');
      assert.equal(s.limits.pendingMax, 7);
      assert.equal(s.limits.inventoryMaxKeys, 2_000);
      await s.close();
    }
    assert.ok(existsSync(join(dir, 'a', 'hub.db')) && existsSync(join(dir, 'b', 'hub.db')) && existsSync(join(dir, 'c.db')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown schemes and options are refused with E_STORE_URL', async () => {
  for (const url of ['mysql://h/db', 'sqlite:', 'sqlite:/tmp/x.db?synchronous=off', 'sqlite:/tmp/x.db?group=0', 'sqlite:/tmp/x.db?group=many', 'postgres://h/db?group=1.5']) {
    await assert.rejects(openStore({ url }), (e) => isOutpostError(e, 'E_STORE_URL'), url);
  }
});
