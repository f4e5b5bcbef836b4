// `outpost …` through the CLI entry in this process with its output captured: main() is what
// bin/outpost.js runs, and a child per call is slow on a busy machine.
import { PassThrough } from 'node:stream';
import { main } from '../../agent/main.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCli(args: readonly string[]): Promise<CliRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (b) => (o += b));
  err.on('data', (b) => (e += b));
  const code = await main([...args], { out, err, isTTY: false });
  return { code, out: o, err: e };
}
