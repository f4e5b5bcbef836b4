#!/bin/sh
# Regenerates the golden boot environment files in test/fixtures/bootenv with the REAL tools:
# grub-editenv (Debian package grub-common) and fw_setenv (libubootenv-tool).
# The .json next to each file holds the variables the tool was asked to write.
# Note: libubootenv leaves uninitialised bytes after the end of the variable list (the CRC
# covers them), so the U-Boot goldens differ bit for bit between runs; their content does not.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/test/fixtures/bootenv"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# GRUB: escapes ('\' and newline), an empty value, an overwrite in place, a removal.
rm -f "$out/grubenv"
grub-editenv "$out/grubenv" create
grub-editenv "$out/grubenv" set BOOT_ORDER="A B" BOOT_A_LEFT=3 BOOT_B_LEFT=0 OUTPOST_A_GOOD=1 \
  'win_path=C:\boot\x' "two_lines=first
second" empty= doomed=1
grub-editenv "$out/grubenv" set BOOT_A_LEFT=2
grub-editenv "$out/grubenv" unset doomed
cat > "$out/grubenv.json" <<'JSON'
{
  "BOOT_ORDER": "A B",
  "BOOT_A_LEFT": "2",
  "BOOT_B_LEFT": "0",
  "OUTPOST_A_GOOD": "1",
  "win_path": "C:\\boot\\x",
  "two_lines": "first\nsecond",
  "empty": ""
}
JSON

: > "$tmp/default.env"

# U-Boot, one copy of 0x1000 bytes at offset 0x200 of an 8 KiB file.
rm -f "$out/uboot-single.bin"
dd if=/dev/zero of="$out/uboot-single.bin" bs=1024 count=8 2>/dev/null
echo "$out/uboot-single.bin 0x200 0x1000" > "$tmp/single.config"
printf 'BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=1\nbootcmd=run outpost_boot; reset\n' |
  fw_setenv -c "$tmp/single.config" -f "$tmp/default.env" -s - 2>/dev/null  # blank device: "Cannot read environment" is expected
cat > "$out/uboot-single.json" <<'JSON'
{ "BOOT_ORDER": "B A", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "1", "bootcmd": "run outpost_boot; reset" }
JSON

# U-Boot, redundant: two copies of 0x1000 bytes at 0 and 0x1000. Three writes: copy 1 holds the
# first (flag 1), copy 0 the second (flag 2), copy 1 the third and newest (flag 3).
rm -f "$out/uboot-redundant.bin"
dd if=/dev/zero of="$out/uboot-redundant.bin" bs=1024 count=8 2>/dev/null
printf '%s 0x0 0x1000\n%s 0x1000 0x1000\n' "$out/uboot-redundant.bin" "$out/uboot-redundant.bin" > "$tmp/redund.config"
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' | fw_setenv -c "$tmp/redund.config" -f "$tmp/default.env" -s - 2>/dev/null
printf 'BOOT_ORDER=A\nBOOT_B_LEFT=0\n' | fw_setenv -c "$tmp/redund.config" -s -
printf 'BOOT_ORDER=B A\nBOOT_B_LEFT=3\nOUTPOST_A_GOOD=1\n' | fw_setenv -c "$tmp/redund.config" -s -
cat > "$out/uboot-redundant.json" <<'JSON'
{
  "newest": { "BOOT_ORDER": "B A", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "3", "OUTPOST_A_GOOD": "1" },
  "older": { "BOOT_ORDER": "A", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "0" },
  "newestCopy": 1,
  "flags": [2, 3]
}
JSON
echo "fixtures written to $out"
