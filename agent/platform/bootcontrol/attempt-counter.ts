// BootControl over any BootEnv with the attempt-counter scheme of scheme.ts. Every operation is
// ONE BootEnv.update(), so a power cut leaves either the state before or the state after it:
//  markBad(s)   s leaves BOOT_ORDER, tries 0, not good       (never the last slot in the order)
//  arm(s, n)    s first in BOOT_ORDER with n tries, not good; committed slots stay behind it as
//               fallback with their tries refilled, so a failed trial always has somewhere to go
//  markGood(s)  s first, tries refilled, good — the commit; also called on every healthy boot,
//               because the bootloader counts down a committed slot too (RAUC does the same)
import type { BootControl, BootEnv, EnvHealth, SlotName, SlotState } from '../types.ts';
import { OutpostError } from '../../../shared/errors.ts';
import { checkSlotNames, DEFAULT_TRIES, goodVar, leftVar, MAX_TRIES, ORDER_VAR, parseOrder, parseTries } from './scheme.ts';

export interface AttemptCounterOptions {
  env: BootEnv;
  /** Slot names in the bootloader's default order. */
  slots?: readonly SlotName[];
}

interface View {
  order: SlotName[];
  tries: Map<SlotName, number>;
  good: Map<SlotName, boolean>;
}

export class AttemptCounterBootControl implements BootControl {
  readonly #env: BootEnv;
  readonly #slots: readonly SlotName[];

  constructor(opts: AttemptCounterOptions) {
    this.#env = opts.env;
    this.#slots = Object.freeze([...(opts.slots ?? ['A', 'B'])]);
    checkSlotNames(this.#slots);
  }

  async #view(): Promise<View> {
    const vars = await this.#env.read();
    const order = parseOrder(vars[ORDER_VAR], this.#slots);
    const tries = new Map(this.#slots.map((s) => [s, parseTries(vars[leftVar(s)])]));
    const good = new Map(this.#slots.map((s) => [s, vars[goodVar(s)] === '1']));
    return { order, tries, good };
  }

  #check(slot: SlotName): void {
    if (!this.#slots.includes(slot)) throw new OutpostError('E_BOOTCTL_SLOT', `unknown slot ${JSON.stringify(slot)} (have ${this.#slots.join(', ')})`);
  }

  async primary(): Promise<SlotName> {
    const { order, tries } = await this.#view();
    // What the bootloader will start next: the first slot in order that still has tries.
    return order.find((s) => tries.get(s)! > 0) ?? order[0]!;
  }

  async slots(): Promise<SlotState[]> {
    const { order, tries, good } = await this.#view();
    return this.#slots.map((name) => {
      const inOrder = order.includes(name);
      return { name, triesLeft: inOrder ? tries.get(name)! : 0, good: inOrder && good.get(name)! };
    });
  }

  async bootOrder(): Promise<SlotName[]> {
    return (await this.#view()).order;
  }

  async envHealth(): Promise<EnvHealth> {
    if (this.#env.health) return this.#env.health();
    await this.#env.read();
    return { copies: 1, damaged: [], current: 0 };
  }

  async repairEnv(): Promise<number[]> {
    return this.#env.repair ? this.#env.repair() : [];
  }

  async markBad(slot: SlotName): Promise<void> {
    this.#check(slot);
    const { order } = await this.#view();
    const rest = order.filter((s) => s !== slot);
    if (rest.length === 0) {
      throw new OutpostError('E_BOOTCTL_LAST_SLOT', `refusing to mark ${slot} bad: no other slot is left in ${ORDER_VAR}`);
    }
    await this.#env.update({ [ORDER_VAR]: rest.join(' '), [leftVar(slot)]: '0', [goodVar(slot)]: '0' });
  }

  async arm(slot: SlotName, tries: number): Promise<void> {
    this.#check(slot);
    if (!Number.isInteger(tries) || tries < 1 || tries > MAX_TRIES) {
      throw new OutpostError('E_BOOTCTL_TRIES', `tries must be an integer from 1 to ${MAX_TRIES}, got ${tries}`);
    }
    const { order, good } = await this.#view();
    const fallback = order.filter((s) => s !== slot);
    const changes: Record<string, string> = {
      [ORDER_VAR]: [slot, ...fallback].join(' '),
      [leftVar(slot)]: String(tries),
      [goodVar(slot)]: '0',
    };
    for (const s of fallback) if (good.get(s)) changes[leftVar(s)] = String(DEFAULT_TRIES);
    await this.#env.update(changes);
  }

  async markGood(slot: SlotName): Promise<void> {
    this.#check(slot);
    const { order } = await this.#view();
    await this.#env.update({
      [ORDER_VAR]: [slot, ...order.filter((s) => s !== slot)].join(' '),
      [leftVar(slot)]: String(DEFAULT_TRIES),
      [goodVar(slot)]: '1',
    });
  }
}
