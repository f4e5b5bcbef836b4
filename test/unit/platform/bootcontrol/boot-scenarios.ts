// Boot environments every real bootloader script must handle exactly like the simulator.
// Each bootloader's test adds the cases specific to it.
export const COMMON_BOOT_CASES: ReadonlyArray<[string, Record<string, string>]> = [
  ['blank environment', {}],
  ['trial slot first', { BOOT_ORDER: 'B A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3', OUTPOST_A_GOOD: '1' }],
  ['trial on its last try', { BOOT_ORDER: 'B A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '1' }],
  ['fallback on its last try', { BOOT_ORDER: 'A B', BOOT_A_LEFT: '1', BOOT_B_LEFT: '0' }],
  ['trial used up: fall back', { BOOT_ORDER: 'B A', BOOT_A_LEFT: '2', BOOT_B_LEFT: '0' }],
  ['bad slot out of the order', { BOOT_ORDER: 'A', BOOT_A_LEFT: '9', BOOT_B_LEFT: '5' }],
];
