// Turns the agent's JSON log lines and the simulated boots into plain sentences. Lines with no
// sentence here stay in agent.log only; warnings and errors are always shown.
import type { BootEvent, LogLine } from './node.ts';
import { say } from './say.ts';

type Fields = Record<string, unknown>;
const err = (f: Fields) => {
  const e = f.error ?? f.err;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object') return String((e as Fields).message ?? JSON.stringify(e));
  return '';
};


const SENTENCES: Record<string, (f: Fields) => string | null> = {
  'hub holds this node as pending until an operator accepts its fingerprint': () => 'node: the hub answers "pending": an operator has to accept this node\'s key first',
  'authenticated with the hub': () => 'node: connected to the hub and authenticated (signed its challenge with the device key)',
  'downloads paused': (f) =>
    f.reason === 'window' ? `node: outside its download windows: the download waits${f.until ? ` (next window opens ${f.until})` : ''}` : `node: downloads paused (${f.reason})`,
  'hub-pushed settings applied': (f) => (f.windows ? `node: pushed settings stored and applied: ${f.windows} download window(s) in force` : null),
  'download paused by the gate': (f) => `node: download window closed (${f.reason}); the deployment waits, its verified blocks kept`,
  'writing bundle': (f) => `node: bundle signature and manifest OK; streaming ${f.blocks} verified blocks of version ${f.version} into slot ${f.slot}`,
  'resuming write': (f) => `node: resuming the write at block ${f.block}`,
  'slot read back and verified': (f) => `node: slot ${f.slot} read back, its sha256 matches the signed manifest`,
  'bootloader armed': (f) => `node: bootloader told to try slot ${f.slot} (${f.tries} tries); the old slot stays as fallback`,
  'new slot booted': (f) => `node: came up on the new slot ${f.slot}; running health checks`,
  'health check passed': (f) => `node: health check "${f.check}" passed`,
  'health check failed': (f) => `node: health check "${f.check}" FAILED: ${err(f)}`,
  committed: (f) => `node: committed: slot ${f.slot} (version ${f.version}) is now the good slot`,
  'target slot marked bad': (f) => `node: slot ${f.slot} marked not bootable while it is rewritten`,
  'target marked bad; rebooting back to the old slot': (f) => `node: marks slot ${f.target} bad and reboots back to slot ${f.previous}`,
  'bootloader fell back to the old slot': (f) => `node: the bootloader fell back to slot ${f.running}; slot ${f.target} never came up`,
  'rolled back': (f) => `node: rolled back: running slot ${f.running} again, slot ${f.target} is marked bad`,
  'resuming deployment': (f) => `node: after the restart, deployment ${f.deployment} continues (was "${f.found}")`,
};

/** Warnings a demo with several nodes tells once for all of them (the hub's side of the story). */
const QUIET = new Set(['hub holds this node as pending until an operator accepts its fingerprint']);

/** What a node says in a demo with several: the steps an operator cares about. */
const BRIEF = new Set(['downloads paused', 'hub-pushed settings applied', 'health check failed', 'committed', 'rolled back', 'bootloader fell back to the old slot']);

/**
 * A narrator for one node: its sentences start with `who` instead of "node"; `brief` keeps only
 * the steps an operator follows in a rollout. Warnings and errors are always shown; a sentence
 * said once per node (a pushed setting applied again at every start) is not repeated.
 */
export function narrator(who: string, brief: boolean): (line: LogLine) => void {
  const said = new Set<string>();
  return (line) => {
    const msg = String(line.msg ?? '');
    const sentence = SENTENCES[msg];
    if (sentence && (!brief || BRIEF.has(msg))) {
      const text = sentence(line);
      if (!text || (msg === 'hub-pushed settings applied' && said.has(msg))) return;
      said.add(msg);
      say(text.replace(/^node:/, `${who}:`));
    } else if ((line.level === 'warn' || line.level === 'error' || line.level === 'raw') && !(brief && QUIET.has(msg))) {
      say(`${who} ${line.level === 'raw' ? 'printed' : line.level + 's'}: ${msg}${err(line) ? ` (${err(line)})` : ''}${line.code ? ` [${line.code}]` : ''}`);
    }
  };
}

export function narrateBoot(b: BootEvent): void {
  const order = b.vars.BOOT_ORDER ?? '';
  const left = order.split(/\s+/).filter(Boolean).map((s) => `${s}: ${b.vars[`BOOT_${s}_LEFT`] ?? '?'} tries left`).join(', ');
  say(`bootloader (${b.reason}): boot order "${order}" → starts slot ${b.booted ?? 'NOTHING'} (${left})`);
}
