#!/usr/bin/env bash
# qemu-system-riscv64 (QEMU 10, bookworm-backports): the reference that xlat's system-mode tests
# compare against. The devices helper's 40-riscv-system.sh may install it too; this is idempotent.
set -euo pipefail
qemu_sys_ok() {
  command -v qemu-system-riscv64 >/dev/null && qemu-system-riscv64 --version | grep -q -E 'version (9|1[0-9])\.'
}
if ! qemu_sys_ok; then
  apt_update
  log "installing qemu-system-riscv from bookworm-backports"
  $SUDO apt-get install -y -qq -t bookworm-backports qemu-system-riscv >&2
fi
