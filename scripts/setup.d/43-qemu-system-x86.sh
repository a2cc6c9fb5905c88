#!/usr/bin/env bash
# qemu-system-x86_64 (QEMU 10, bookworm-backports): the TCG column of the x86-64 system-mode
# bench (benches/payload) and a reference run of the payload. backports_install (setup.sh) adds the
# backports source. Idempotent.
set -euo pipefail
if ! { command -v qemu-system-x86_64 >/dev/null \
       && qemu-system-x86_64 --version | grep -q -E 'version (9|1[0-9])\.'; }; then
  backports_install --no-install-recommends qemu-system-x86
fi
