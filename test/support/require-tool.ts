// Real tools, not mocks — but a machine without one must not fail `npm test`: a suite whose tool
// is missing is skipped with ONE line naming the Debian package, and the run ends with a summary
// and the one command that installs them (scripts/run-tests.ts). A present tool is never skipped.
//
// Two ways in: SUITES lists test files whose every test needs a tool (the runner leaves them out,
// so even their module-level set-up never runs); `requireTool` is the `{ skip }` of one test in
// an otherwise tool-free file. test/unit/real-tools.test.ts checks no tool user is missing here.
import { accessSync, appendFileSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
/** Where the summary collects notes of per-test skips (set by scripts/run-tests.ts). */
export const SKIP_NOTES_ENV = 'OUTPOST_TEST_SKIP_NOTES';

/** A program (looked up on PATH and in the sbin directories) or an absolute file, and its Debian package. */
export type Need = readonly [tool: string, pkg: string];

const GRUB_EDITENV: Need = ['grub-editenv', 'grub-common'];
const FW_TOOLS: Need[] = [['fw_printenv', 'libubootenv-tool'], ['fw_setenv', 'libubootenv-tool']];
const GPSD: Need[] = [['gpsd', 'gpsd'], ['gpsfake', 'gpsd-clients']];
const OPENSSL: Need = ['openssl', 'openssl'];
const BUILD_X64: Need[] = [['strip', 'binutils'], ['readelf', 'binutils']];
const BUILD_ARM64: Need[] = [
  ...BUILD_X64,
  ['aarch64-linux-gnu-strip', 'binutils-aarch64-linux-gnu'],
  ['qemu-aarch64-static', 'qemu-user-static'],
  ['/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1', 'libc6-arm64-cross'],
];

/** Test file (relative to the repository) → the tools every one of its tests needs. */
export const SUITES: Record<string, Need[]> = {
  'test/unit/platform/bootenv/grub-env.test.ts': [GRUB_EDITENV],
  'test/unit/platform/bootenv/uboot-env.test.ts': FW_TOOLS,
  'test/unit/platform/bootenv/fw-tool-env.test.ts': FW_TOOLS,
  'test/unit/platform/bootcontrol/grub-real.test.ts': [
    GRUB_EDITENV, ['grub-emu', 'grub-emu'], ['/usr/lib/grub/x86_64-emu', 'grub-emu'], ['mke2fs', 'e2fsprogs'], ['debugfs', 'e2fsprogs'],
  ],
  'test/unit/platform/bootcontrol/uboot-real.test.ts': [['qemu-system-aarch64', 'qemu-system-arm'], ['/usr/lib/u-boot/qemu_arm64/u-boot.bin', 'u-boot-qemu']],
  'test/component/location/gpsd-inside.test.ts': GPSD,
  'test/component/location/gpsd-restart.test.ts': GPSD,
  'test/component/location/gpsd-return.test.ts': GPSD,
  'test/component/location/gpsd-walk.test.ts': GPSD,
  'test/component/fetch/tls-proxy.test.ts': [OPENSSL],
  'test/integration/hub/tls-proxy.test.ts': [OPENSSL],
  'test/hub/link-transport.test.ts': [OPENSSL],
  'test/unit/net/hub-trust.test.ts': [OPENSSL],
  // initdb and pg_ctl live under /usr/lib/postgresql/<version>/bin (test/support/postgres.ts)
  'test/hub/store/postgres.test.ts': [['/usr/lib/postgresql', 'postgresql']],
  'test/integration/hub/auth.test.ts': [['ss', 'iproute2']],
  'test/integration/hub/run-daemon.test.ts': [['python3', 'python3']],
  'test/realdev/loop-install.test.ts': [['sfdisk', 'fdisk'], ['partx', 'util-linux'], ['losetup', 'mount']],
  'test/realdev/direct-write.test.ts': [['losetup', 'mount'], ['blockdev', 'util-linux']],
  'test/realdev/inventory-facts.test.ts': [['unshare', 'util-linux'], ['chroot', 'coreutils'], ['mount', 'mount']],
  'test/unit/platform/slots/slot-device.test.ts': [['unshare', 'util-linux'], ['mount', 'mount']],
  'test/binary/x64.test.ts': [...BUILD_X64, GRUB_EDITENV],
  'test/binary/run.test.ts': [...BUILD_X64, ['python3', 'python3']],
  'test/binary/service-notify.test.ts': [['python3', 'python3']],
  'test/binary/packaging.test.ts': BUILD_ARM64,
  'test/binary/arm64.test.ts': BUILD_ARM64,
  'test/hub/dashboard/dashboard.test.ts': [['chromium', 'chromium']],
};

export function present(tool: string): boolean {
  const candidates = isAbsolute(tool)
    ? [tool]
    : [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'].filter(Boolean).map((d) => join(d, tool));
  return candidates.some((p) => {
    try {
      accessSync(p, isAbsolute(tool) ? constants.R_OK : constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The missing ones among `needs`, and the one-line reason naming their packages (null: none missing). */
export function missingTools(needs: readonly Need[]): { missing: Need[]; reason: string } | null {
  const missing = needs.filter(([tool]) => !present(tool));
  if (missing.length === 0) return null;
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
  return { missing, reason: `needs ${missing.map(([t]) => t).join(', ')} (Debian package${pkgs.length > 1 ? 's' : ''} ${pkgs.join(' ')})` };
}

/**
 * `{ skip }` for one test: false when every tool is present, else the reason (one line), noted
 * for the end-of-run summary.
 */
export function requireTools(...needs: Need[]): string | false {
  const m = missingTools(needs);
  if (!m) return false;
  const dir = process.env[SKIP_NOTES_ENV];
  const suite = relative(ROOT, resolve(process.argv[1] ?? 'unknown'));
  if (dir) appendFileSync(join(dir, `${process.pid}.jsonl`), JSON.stringify({ suite, missing: m.missing }) + '\n');
  return m.reason;
}

export function requireTool(tool: string, pkg: string): string | false {
  return requireTools([tool, pkg]);
}
