#!/usr/bin/env bash
# qemu-system-riscv64 (QEMU 10, bookworm-backports): the reference that xlat's system-mode tests
# compare against. The devices helper's 40-riscv-system.sh may install it too; this is idempotent.
set -euo pipefail
qemu_sys_ok() {
  command -v qemu-system-riscv64 >/dev/null && qemu-system-riscv64 --version | grep -q -E 'version (9|1[0-9])\.' \
    && [ -f /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin ]
}
if ! qemu_sys_ok; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports ($MIRROR)"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$MIRROR" \
      | $SUDO tee /etc/apt/sources.list.d/xlat-backports.sources >/dev/null
    $SUDO apt-get update -qq >&2
  fi
  apt_update
  log "installing qemu-system-riscv from bookworm-backports"
  # opensbi (fw_jump, fw_dynamic) comes with it
  $SUDO apt-get install -y -qq -t bookworm-backports qemu-system-riscv opensbi >&2
fi
