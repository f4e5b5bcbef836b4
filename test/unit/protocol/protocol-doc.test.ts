// shared/PROTOCOL.md cannot drift from what the agent sends: the state and outcome tables are the
// agent's own lists, and every complete JSON example in it passes the codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATES } from '../../../agent/update/machine.ts';
import { OUTCOME_RESULTS, decodeAgentMessage, decodeHubMessage } from '../../../shared/protocol/index.ts';

const DOC = readFileSync(join(import.meta.dirname, '../../../shared/PROTOCOL.md'), 'utf8');

function tableKeys(name: string): string[] {
  const m = new RegExp(`<!-- ${name}:start -->([\\s\\S]*?)<!-- ${name}:end -->`).exec(DOC);
  assert.ok(m, `PROTOCOL.md has no ${name} table`);
  return [...m[1]!.matchAll(/^\| `([^`]+)` \|/gm)].map((x) => x[1]!).filter((k) => k !== 'state' && k !== 'result');
}

test('the update states table lists exactly the states of agent/update/machine.ts, in order', () => {
  assert.deepEqual(tableKeys('update-states'), [...STATES]);
});

test('the outcome table lists exactly the results the codec accepts', () => {
  assert.deepEqual(tableKeys('update-outcomes').sort(), [...OUTCOME_RESULTS].sort());
});

test('every complete JSON example decodes, and its states and phases are ones the agent sends', () => {
  const examples: string[] = [];
  for (const block of DOC.matchAll(/```json\n([\s\S]*?)\n```/g)) {
    const text = block[1]!;
    // A multi-line example is one message; otherwise one message per line.
    const candidates = text.trimStart().startsWith('{"v"') && text.includes('\n{') ? text.split('\n') : [text];
    for (const c of candidates) {
      if (/<[a-z0-9 -]+>|…/.test(c)) continue; // placeholders: not a complete example
      let raw: { v?: unknown };
      try {
        raw = JSON.parse(c);
      } catch {
        continue;
      }
      if (raw.v !== 1) continue; // vectors, windows
      examples.push(c);
      const d = decodeAgentMessage(c).ok ? decodeAgentMessage(c) : decodeHubMessage(c);
      assert.ok(d.ok, `${c.slice(0, 120)}: ${d.ok ? '' : d.reason}`);
      const m = d.message as { type: string; state?: string; phase?: string };
      if (m.type === 'update.state') assert.ok((STATES as readonly string[]).includes(m.state!), `state ${m.state}`);
      if (m.type === 'update.progress') assert.equal(m.phase, 'write');
    }
  }
  assert.ok(examples.length >= 8, `${examples.length} examples checked`);
});
