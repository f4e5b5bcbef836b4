// Plain-words narration: chapters, then one line per thing that happened, stamped with seconds
// since the demo started. Everything a person reads goes through here; the agent's and hub's
// own JSON logs go to files.
const started = Date.now();
// A closed pipe (`npm start | head`) must not kill the demo before it stops its children.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;

export function chapter(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

export function say(text: string): void {
  process.stdout.write(`${stamp()}  ${text}\n`);
}

/** A detail under the line before it (no timestamp). */
export function detail(text: string): void {
  process.stdout.write(`         ${text}\n`);
}

export function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}
