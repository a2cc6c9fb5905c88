#!/usr/bin/env bash
# The AArch64 guest's tools: the Debian cross compiler and arm64 libc (static test programs,
# the a64diff harness), and Debian trixie's arm64 busybox-static at $CACHE/aarch64/busybox.
# qemu-aarch64 (the reference) comes with qemu-user, installed by setup.sh.
set -euo pipefail
apt_updated=${apt_updated:-0} # apt_update (exported from setup.sh) reads it
if ! command -v aarch64-linux-gnu-gcc >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/libc.a ]; then
  apt_update
  log "installing gcc-aarch64-linux-gnu and libc6-dev-arm64-cross"
  $SUDO apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross >&2
fi
BB="$CACHE/aarch64/busybox"
if [ ! -x "$BB" ]; then
  log "fetching Debian trixie busybox-static (arm64)"
  fetch_foreign arm64 busybox-static
  deb=$(ls -t "$CACHE"/debs/arm64/busybox-static_*_arm64.deb | head -n1)
  tmp=$(mktemp -d); dpkg -x "$deb" "$tmp"
  mkdir -p "$CACHE/aarch64"
  cp "$tmp/usr/bin/busybox" "$BB"; rm -rf "$tmp"
  basename "$deb" > "$CACHE/aarch64/busybox.version"
fi
# The arm64 sysroot (bash, coreutils, python3 and their libraries) for dynamically linked guests.
bash "$(dirname "${BASH_SOURCE[0]}")/../sysroot.sh" aarch64
