// systeminformation's Raspberry Pi revision decoding (lib/util.js, no typings of its own): the
// board facts of a Pi come from its tables, so they stay what systeminformation reported.
declare module 'systeminformation/lib/util.js' {
  export interface PiRevision {
    model: string;
    serial: string;
    revisionCode: string;
    manufacturer: string | undefined;
    type: string;
    revision: string;
  }
  export function decodePiCpuinfo(cpuinfo: string[]): PiRevision;
}
