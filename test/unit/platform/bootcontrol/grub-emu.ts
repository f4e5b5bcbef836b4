// Plays docs/bootloader/grub.cfg in the REAL GRUB (grub-emu, Debian package grub-emu): the
// snippet's selection part and a grubenv go onto a small ext2 image (GRUB's save_env needs a
// real filesystem's block list), GRUB runs it, and the saved grubenv is copied back out.
import { access, mkdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../../../agent/platform/exec.ts';

const SNIPPET = join(import.meta.dirname, '../../../../docs/bootloader/grub.cfg');

export async function haveGrubEmu(): Promise<boolean> {
  const found = await Promise.all(['/usr/bin/grub-emu', '/usr/lib/grub/x86_64-emu'].map((p) => access(p).then(() => true, () => false)));
  return found.every(Boolean);
}

async function run(file: string, args: string[]): Promise<string> {
  const r = await runCommand(file, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Boots GRUB once with `grubenvPath` as its environment block; afterwards `grubenvPath` holds
 * what GRUB saved. Returns the slot the snippet chose, or null when it found none.
 */
export async function grubEmuBoot(grubenvPath: string, workDir: string): Promise<{ booted: string | null }> {
  const src = join(workDir, 'src');
  await mkdir(join(src, 'boot/grub'), { recursive: true });
  // Everything above the menuentries, then report the choice instead of loading a kernel.
  const snippet = (await readFile(SNIPPET, 'utf8')).split(/^menuentry /m)[0]!;
  await writeFile(join(src, 'boot/grub/grub.cfg'), `${snippet}\necho "OUTPOST-BOOTED=[$OUTPOST_SLOT]"\nreboot\n`);
  await copyFile(grubenvPath, join(src, 'boot/grub/grubenv'));
  const img = join(workDir, 'boot.img');
  await run('mke2fs', ['-q', '-F', '-t', 'ext2', '-b', '1024', '-d', src, img, '4M']);
  const map = join(workDir, 'device.map');
  await writeFile(map, `(hd0) ${img}\n`);
  const out = await run('grub-emu', ['-m', map, '-r', 'hd0', '-d', '/boot/grub']);
  await run('debugfs', ['-R', `dump /boot/grub/grubenv ${grubenvPath}`, img]);
  const m = /OUTPOST-BOOTED=\[(\w*)\]/.exec(out);
  return { booted: m && m[1] ? m[1] : null };
}
