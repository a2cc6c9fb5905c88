#!/usr/bin/env bash
# U-Boot for `xlat system` (issue 4): Debian trixie's u-boot-qemu, whose qemu-riscv64_smode
# build runs in S-mode under OpenSBI fw_jump (loaded as the kernel, at 0x80200000):
#   $CACHE/riscv64/u-boot/u-boot.bin   (qemu-riscv64_smode)
#   $CACHE/riscv64/u-boot/version      the package it came from
# Idempotent and cached.
set -euo pipefail
out="$CACHE/riscv64/u-boot"
if [ ! -s "$out/u-boot.bin" ]; then
  log "fetching Debian trixie u-boot-qemu (qemu-riscv64_smode)"
  fetch_foreign riscv64 u-boot-qemu
  deb=$(ls -t "$CACHE"/debs/riscv64/u-boot-qemu_*.deb | head -n1)
  tmp=$(mktemp -d)
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './usr/lib/u-boot/qemu-riscv64_smode/*'
  mkdir -p "$out"
  cp "$tmp/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin" "$out/u-boot.bin.tmp"
  mv "$out/u-boot.bin.tmp" "$out/u-boot.bin"
  basename "$deb" > "$out/version"
  rm -rf "$tmp"
fi
