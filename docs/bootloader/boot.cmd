# Outpost A/B boot selection for U-Boot (see docs/bootloader.md).
# Compile: mkimage -A arm64 -T script -C none -n outpost -d boot.cmd boot.scr
# Variables live in the U-Boot environment (redundant copy recommended); the agent writes them.
#   BOOT_ORDER     slots U-Boot may try, first = primary       unset/empty: "A B"
#   BOOT_A_LEFT    tries left for slot A, one digit 0-9        unset/empty: 3
#   BOOT_B_LEFT    tries left for slot B, one digit 0-9        unset/empty: 3
# OUTPOST_A_GOOD / OUTPOST_B_GOOD are the agent's commit marks; this script ignores them.
# Same algorithm as grub.cfg. Adapt devices, partitions and load addresses to your board.

test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3

# Shell-local (not setenv) so saveenv does not store them.
outpost_slot=
outpost_part=
for BOOT_SLOT in "${BOOT_ORDER}"; do
  if test "x${outpost_slot}" != "x"; then
    # a slot was chosen: skip the rest
  elif test "x${BOOT_SLOT}" = "xA"; then
    if test ${BOOT_A_LEFT} -gt 0; then
      # setexpr prints hex; counters are single digits, where hex and decimal agree
      setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
      outpost_slot=A
      outpost_part=2
    fi
  elif test "x${BOOT_SLOT}" = "xB"; then
    if test ${BOOT_B_LEFT} -gt 0; then
      setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
      outpost_slot=B
      outpost_part=3
    fi
  fi
done

if test "x${outpost_slot}" = "x"; then
  # Every slot in BOOT_ORDER has used its tries. Refill the counters and start over; a slot
  # the agent took out of BOOT_ORDER (bad, maybe half written) is still never tried.
  echo "Outpost: no slot has tries left; refilling counters and resetting"
  setenv BOOT_A_LEFT 3
  setenv BOOT_B_LEFT 3
  saveenv
  sleep 5
  reset
fi

# Saved BEFORE the kernel starts: a slot that hangs or panics has already paid its try.
saveenv
echo "Outpost: booting slot ${outpost_slot}"
setenv bootargs "console=${console} root=/dev/mmcblk0p${outpost_part} ro rootwait outpost.slot=${outpost_slot}"
load mmc 0:${outpost_part} ${kernel_addr_r} /boot/Image
load mmc 0:${outpost_part} ${fdt_addr_r} /boot/${fdtfile}
booti ${kernel_addr_r} - ${fdt_addr_r}
