// Plays docs/bootloader/boot.cmd in the REAL U-Boot (Debian's u-boot-qemu, qemu_arm64 build,
// under qemu-system-aarch64). The environment is written by OUR UbootEnv into the emulated
// NOR flash where that U-Boot keeps it, so U-Boot accepting it is a compatibility check too.
// U-Boot's CFI flash writes time out under emulation, so `saveenv` is replaced by printing the
// variables it would store; the rest of the script is run as shipped, up to loading a kernel.
import { readFile, writeFile, access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UbootEnv } from '../../../../agent/platform/bootenv/uboot-env.ts';
import { runCommand } from '../../../../agent/platform/exec.ts';

const SCRIPT = join(import.meta.dirname, '../../../../docs/bootloader/boot.cmd');
const UBOOT = '/usr/lib/u-boot/qemu_arm64/u-boot.bin';
const QEMU = 'qemu-system-aarch64';
const FLASH_SIZE = 64 << 20; // QEMU virt's second flash bank, at 0x4000000
const ENV_SIZE = 0x40000; // CONFIG_ENV_SIZE of that build, environment at the bank's start

export async function haveUbootQemu(): Promise<boolean> {
  const r = await runCommand(QEMU, ['--version']).catch(() => null);
  return r?.code === 0 && (await access(UBOOT).then(() => true, () => false));
}

export interface UbootRun {
  booted: string | null;
  /** BOOT_* variables as the script would have saved them. */
  saved: Record<string, string>;
  console: string;
}

export async function ubootBoot(vars: Record<string, string>, workDir: string): Promise<UbootRun> {
  const flash = join(workDir, `flash-${Date.now()}-${Math.random().toString(36).slice(2)}.img`);
  try {
    return await bootOnce(vars, flash);
  } finally {
    await rm(flash, { force: true }); // 64 MiB each
  }
}

async function bootOnce(vars: Record<string, string>, flash: string): Promise<UbootRun> {
  await writeFile(flash, Buffer.alloc(FLASH_SIZE, 0xff)); // erased NOR
  const script = (await readFile(SCRIPT, 'utf8'))
    .split(/^setenv bootargs/m)[0]!
    .replace(/^(\s*)saveenv$/gm, '$1printenv BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT');
  const env = new UbootEnv({ geometry: { size: ENV_SIZE, copies: [{ device: flash, offset: 0 }] }, whenInvalid: 'empty' });
  await env.update({ ...vars, bootdelay: '0', outpost_boot: script, bootcmd: 'run outpost_boot; echo OUTPOST-END; reset' });
  const r = await runCommand(
    QEMU,
    ['-machine', 'virt', '-cpu', 'cortex-a57', '-m', '256', '-nographic', '-no-reboot', '-nic', 'none', '-bios', UBOOT,
      '-drive', `if=pflash,unit=1,format=raw,file=${flash}`],
    { timeoutMs: 60_000 },
  );
  const out = r.stdout.replaceAll('\r', '');
  if (!/Loading Environment from Flash\.\.\. OK/.test(out)) throw new Error(`U-Boot did not accept the environment:\n${out}`);
  if (!/resetting \.\.\./.test(out)) throw new Error(`U-Boot did not finish the script:\n${out}`);
  const saved: Record<string, string> = {};
  for (const m of out.matchAll(/^(BOOT_[A-Z_]+)=(.*)$/gm)) saved[m[1]!] = m[2]!;
  const booted = /^Outpost: booting slot (\w+)$/m.exec(out)?.[1] ?? null;
  return { booted, saved, console: out };
}
