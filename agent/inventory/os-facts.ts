// OS facts as systeminformation's osInfo() reports them on Linux, field for field, without its
// execSync commands (`hostname -f` for an FQDN the inventory does not report, `echo $LANG`, the
// machine-id `cat`s), which stopped the daemon's event loop at every collection. The release
// files are read with async reads in the order `cat /etc/*-release /usr/lib/os-release
// /etc/openwrt_release` printed them; the later of two equal keys wins, as it did.
import { readdir, readFile, stat } from 'node:fs/promises';
import { arch, hostname, release } from 'node:os';
import { commandOutput, under, type FactSources } from './fact-sources.ts';

export interface OsFacts {
  platform: string;
  distro: string;
  release: string;
  codename: string;
  kernel: string;
  arch: string;
  hostname: string;
  uefi: boolean;
}

export interface OsSources extends FactSources {
  hostname?: string;
}

/** The release files' text, concatenated like `cat` printed them (a file without a final newline runs into the next). */
async function releaseText(root: string): Promise<string> {
  const etc = (await readdir(under(root, '/etc')).catch(() => [] as string[]))
    .filter((n) => n.endsWith('-release') && !n.startsWith('.'))
    .sort()
    .map((n) => `/etc/${n}`);
  const files = await Promise.all([...etc, '/usr/lib/os-release', '/etc/openwrt_release'].map((p) => readFile(under(root, p)).catch(() => null)));
  return Buffer.concat(files.filter((b) => b !== null)).toString('utf8');
}

/** distro, release and codename from os-release / lsb-release text, by systeminformation's rules. */
export function parseRelease(text: string): Pick<OsFacts, 'distro' | 'release' | 'codename'> {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.includes('=')) continue;
    const [key, value] = line.split('=');
    kv.set(key!.trim().toUpperCase(), value!.trim());
  }
  const get = (k: string) => kv.get(k) || '';
  const unquote = (s: string) => s.replace(/"/g, '');
  const distro = unquote(get('DISTRIB_ID') || get('NAME') || 'unknown');
  let version = unquote(get('VERSION'));
  let codename = unquote(get('DISTRIB_CODENAME') || get('VERSION_CODENAME'));
  const pretty = unquote(get('PRETTY_NAME'));
  if (pretty.startsWith(`${distro} `)) version = pretty.replace(`${distro} `, '').trim();
  if (version.includes('(')) {
    codename = version.split('(')[1]!.replace(/[()]/g, '').trim();
    version = version.split('(')[0]!.trim();
  }
  return { distro, release: unquote(version || get('DISTRIB_RELEASE') || get('VERSION_ID') || 'unknown'), codename };
}

/** UEFI boot cannot change until the next boot: asked once per process (the dmesg fallback is a command). */
let uefiOnce: Promise<boolean> | undefined;
function uefi(root: string, run: NonNullable<FactSources['run']>): Promise<boolean> {
  return stat(under(root, '/sys/firmware/efi')).then(
    () => true,
    async () => (await run('dmesg', [])).split('\n').some((l) => l.includes('EFI v')),
  );
}

export async function readOsFacts(o: OsSources = {}): Promise<OsFacts> {
  const root = o.root ?? '/';
  const isDefault = o.root === undefined && o.run === undefined;
  const [text, isUefi] = await Promise.all([releaseText(root), isDefault ? (uefiOnce ??= uefi(root, commandOutput)) : uefi(root, o.run ?? commandOutput)]);
  return {
    platform: process.platform,
    ...parseRelease(text),
    kernel: o.kernelRelease ?? release(),
    arch: o.arch ?? arch(),
    hostname: o.hostname ?? hostname(),
    uefi: isUefi,
  };
}
