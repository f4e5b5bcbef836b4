#!/bin/sh
# Installs (or upgrades) the Outpost agent on a device: the single binary, the default config
# (an existing one is never overwritten), the state directory and the systemd unit.
#
#   sh install.sh [--binary FILE] [--root DIR] [--no-start] [--no-check]
#
#   --binary FILE  binary to install (default: outpost or outpost-arm64 for this machine, looked up
#                  next to this script and in ../dist)
#   --root DIR     install into an image or staging tree instead of / (implies --no-start)
#   --no-start     do not enable or (re)start the service
#   --no-check     do not run the new binary before installing it (e.g. arm64 binary into an
#                  image from an x86-64 host)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=''
binary=''
start=yes
check=yes

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || die "--binary needs a file"; binary=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || die "--root needs a directory"; root=${2%/}; start=no; shift 2 ;;
    --no-start) start=no; shift ;;
    --no-check) check=no; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
done

if [ -z "$binary" ]; then
  case "$(uname -m)" in
    x86_64|amd64) name=outpost ;;
    aarch64|arm64) name=outpost-arm64 ;;
    *) die "no Outpost binary for $(uname -m); pass --binary" ;;
  esac
  for dir in "$here" "$here/../dist"; do
    if [ -f "$dir/$name" ]; then binary="$dir/$name"; break; fi
  done
  [ -n "$binary" ] || die "$name not found next to install.sh or in ../dist; build it or pass --binary"
fi
[ -f "$binary" ] || die "binary $binary not found"
for f in outpost.service config.json; do
  [ -f "$here/$f" ] || die "$here/$f is missing (install.sh expects the packaging directory)"
done
[ -n "$root" ] || [ "$(id -u)" -eq 0 ] || die "run as root (or pass --root DIR for a staging tree)"

bin="$root/usr/local/bin/outpost"
conf="$root/etc/outpost/config.json"
state="$root/var/lib/outpost"
unit="$root/etc/systemd/system/outpost.service"

install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system"
install -d -m 0700 "$root/etc/outpost" "$state"

# Binary: copy next to the old one, prove it runs, then rename over it. The rename is atomic, and
# a running agent keeps executing the old file until the restart below.
install -m 0755 "$binary" "$bin.new"
if [ "$check" = yes ]; then
  version=$("$bin.new" --version) || { rm -f "$bin.new"; die "$binary does not run on this machine (wrong architecture? use --no-check for images)"; }
else
  version="$(basename "$binary") (not run)"
fi
# Keep the previous binary (a hard link, no copy) so an agent upgrade can be undone by hand.
if [ -f "$bin" ]; then ln -f "$bin" "$bin.prev"; fi
mv -f "$bin.new" "$bin"

if [ -e "$conf" ]; then
  echo "kept existing $conf"
else
  install -m 0600 "$here/config.json" "$conf"
  echo "installed default $conf (edit it: slots, boot env, hub)"
fi
if [ "$check" = yes ] && ! "$bin" config --config "$conf" >/dev/null; then
  echo "install.sh: warning: $conf does not validate (see the error above); the service will not start until it does" >&2
fi

install -m 0644 "$here/outpost.service" "$unit"
echo "installed $version as $bin, unit $unit, state in $state"

if [ "$start" = yes ]; then
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload
    systemctl enable outpost.service
    systemctl restart outpost.service
    echo "outpost.service enabled and (re)started; logs: journalctl -u outpost -o cat"
  else
    echo "systemd is not running here: start it with 'systemctl enable --now outpost' on the device"
  fi
fi
