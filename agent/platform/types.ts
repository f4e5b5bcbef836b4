// Contracts between the update logic and the hardware. Only agent/platform/* implements them;
// everything else receives them from agent/app/app.ts.

/** Which copies of a boot environment pass their check (U-Boot: the CRC). */
export interface EnvHealth {
  /** Copies the environment keeps: 2 for a redundant U-Boot env, else 1. */
  readonly copies: number;
  /** 0-based indices of the copies that fail their check. */
  readonly damaged: readonly number[];
  /** Copy the bootloader uses: -1 when none is valid, null when it cannot be told (fw_setenv on MTD). */
  readonly current: number | null;
}

/** A key/value store the bootloader also reads (GRUB env block, U-Boot env, fw_setenv). */
export interface BootEnv {
  /** Current variables (after picking the valid/newest copy where there are two). */
  read(): Promise<Record<string, string>>;
  /**
   * Applies all changes (null deletes a key), then reads back and compares. With two copies
   * both are written, one after the other, each verified: the losing of any one copy afterwards
   * cannot undo the change, and a power cut leaves the state before or after it.
   */
  update(changes: Record<string, string | null>): Promise<void>;
  /** Checks every copy (absent: the environment cannot tell). */
  health?(): Promise<EnvHealth>;
  /** Rewrites damaged copies from the good one; returns the indices rewritten (none: nothing to do or nothing to copy from). */
  repair?(): Promise<number[]>;
}

export type SlotName = string; // 'A' | 'B' on a typical node

export interface SlotState {
  name: SlotName;
  /** Tries left before the bootloader gives up on this slot. */
  triesLeft: number;
  /** Marked good (committed) or bad. */
  good: boolean;
}

/** Attempt-counter boot selection over a BootEnv (see agent/platform/bootcontrol/). */
export interface BootControl {
  /** Slot the bootloader tries first. */
  primary(): Promise<SlotName>;
  slots(): Promise<SlotState[]>;
  /** Prevents the bootloader from trying this slot (before writing it). */
  markBad(slot: SlotName): Promise<void>;
  /** Makes `slot` primary with `tries` attempts; the other slot stays as fallback. */
  arm(slot: SlotName, tries: number): Promise<void>;
  /** Marks the booted slot good and primary: the update is committed. */
  markGood(slot: SlotName): Promise<void>;
  /** Slots the bootloader may try, in order (tells "never armed" from "tried and fell back"). */
  bootOrder?(): Promise<SlotName[]>;
  /** The boot environment's copies (absent: cannot tell). */
  envHealth?(): Promise<EnvHealth>;
  /** Rewrites damaged boot environment copies from the good one; returns the indices rewritten. */
  repairEnv?(): Promise<number[]>;
}

/** A fixed-size slot: a regular file or a block device, same code path. */
export interface SlotDevice {
  readonly name: SlotName;
  readonly slotClass: string;
  readonly path: string;
  size(): Promise<number>;
  /** Opens for writing at `offset` (resume); writes past capacity fail with E_SLOT_CAPACITY. */
  openWriter(offset?: number): Promise<SlotWriter>;
  /** sha256 (hex) of the first `length` bytes, read back from the device. */
  digest(length: number, signal?: AbortSignal): Promise<string>;
}

export interface SlotWriter {
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Flush + fsync; the writer is closed afterwards. */
  finish(): Promise<void>;
  /** Closes without fsync: what was written since the last finish() may or may not be on the device. */
  close(): Promise<void>;
}

export interface Rebooter {
  reboot(reason: string): Promise<void>;
}

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CommandOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  input?: string | Uint8Array;
  env?: Record<string, string>;
  cwd?: string;
  /** Output beyond this many bytes per stream is dropped (default 1 MiB). */
  maxOutputBytes?: number;
}

export interface CommandRunner {
  run(file: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
}

export interface Clock {
  now(): number;
}
