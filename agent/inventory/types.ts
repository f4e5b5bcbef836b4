// The inventory document: plain JSON, one object per node. Everything except `volatile` is a
// "fact": hashed, diffed and re-sent only when it changes. `volatile` (uptime, free memory,
// temperatures) changes on every collection, so it rides along with reports but never makes one.
import type { ErrorCode } from '../../shared/error-codes.ts';
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type SourceError = {
  /** Stable code, e.g. E_INVENTORY_TIMEOUT, E_INVENTORY_SCRIPT_FAILED. */
  code: ErrorCode;
  message: string;
};

export interface Inventory {
  v: 1;
  agent: { version: string };
  /** One key per targeted collector (system, bios, cpu, network, …), see system-probes.ts. */
  [section: string]: JsonValue | undefined;
  /** `custom.<script>.<key>` = value, from the custom inventory scripts. */
  custom?: { [script: string]: { [key: string]: string } };
  /** What the update part reports about slots (versions, good/bad, booted slot). */
  slots?: JsonValue;
  /** Sources that failed this time, by source name (`cpu`, `slots`, `custom:<script>`). */
  errors: { [source: string]: SourceError };
  volatile: JsonObject;
}

/** A change set between two inventories: JSON Pointer paths (RFC 6901) set to a value or removed. */
export interface InventoryDiff {
  set: { [pointer: string]: JsonValue };
  removed: string[];
}
