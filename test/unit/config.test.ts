import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../agent/config/load.ts';
import { isOutpostError } from '../../shared/errors.ts';

test('defaults fill an empty config and the result is frozen', () => {
  const c = parseConfig({});
  assert.equal(c.core.stateDir, '/var/lib/outpost');
  assert.equal(c.core.logLevel, 'info');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.core));
});

test('unknown sections and keys are rejected with E_CONFIG', () => {
  for (const bad of [{ nope: {} }, { core: { stateDri: '/x' } }, { core: { logLevel: 'loud' } }, []]) {
    assert.throws(() => parseConfig(bad), (e) => isOutpostError(e, 'E_CONFIG'));
  }
});

test('a relative root resolves against the config file directory', () => {
  const c = parseConfig({ core: { root: 'sandbox' } }, '/etc/outpost/config.json');
  assert.equal(c.core.root, '/etc/outpost/sandbox');
});
