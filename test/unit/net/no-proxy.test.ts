import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bypassesProxy, parseNoProxy } from '../../../agent/net/no-proxy.ts';

const by = (url: string, list: string) => bypassesProxy(new URL(url), parseNoProxy(list));

test('NO_PROXY: exact hosts, domain suffixes, wildcard, ports and CIDR', () => {
  assert.equal(by('https://updates.example.com/b', 'example.com'), true);
  assert.equal(by('https://updates.example.com/b', '.example.com'), true);
  assert.equal(by('https://updates.example.com/b', '*.example.com'), true);
  assert.equal(by('https://example.com.evil.net/b', 'example.com'), false);
  assert.equal(by('https://notexample.com/b', 'example.com'), false);
  assert.equal(by('https://a.b/', '*'), true);
  assert.equal(by('https://hub.local:8443/', 'hub.local:8443'), true);
  assert.equal(by('https://hub.local/', 'hub.local:8443'), false);
  assert.equal(by('http://10.1.2.3/', '10.0.0.0/8'), true);
  assert.equal(by('http://11.1.2.3/', '10.0.0.0/8'), false);
  assert.equal(by('http://[::1]:80/', '::1'), true);
  assert.equal(by('https://x.y/', ''), false);
  assert.deepEqual(parseNoProxy(' a.com, b.com  c.com ,,'), ['a.com', 'b.com', 'c.com']);
});
