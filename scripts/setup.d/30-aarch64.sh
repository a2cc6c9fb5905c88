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
foreign_busybox aarch64 arm64
# The arm64 sysroot (bash, coreutils, python3 and their libraries) for dynamically linked guests.
bash "$(dirname "${BASH_SOURCE[0]}")/../sysroot.sh" aarch64
