#!/usr/bin/env bash
# qemu-system-riscv64 (QEMU 10, bookworm-backports): the reference that xlat's system-mode tests
# compare against. The devices helper's 40-riscv-system.sh may install it too; this is idempotent.
set -euo pipefail
qemu_sys_ok() {
  command -v qemu-system-riscv64 >/dev/null && qemu-system-riscv64 --version | grep -q -E 'version (9|1[0-9])\.' \
    && [ -f /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin ]
}
# opensbi (fw_jump, fw_dynamic) comes with it
qemu_sys_ok || backports_install qemu-system-riscv opensbi
