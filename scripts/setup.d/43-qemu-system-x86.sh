#!/usr/bin/env bash
# qemu-system-x86_64 (QEMU 10, bookworm-backports): the TCG column of the x86-64 system-mode
# bench (benches/payload) and a reference run of the payload. 41-qemu-system.sh adds the
# backports source. Idempotent.
set -euo pipefail
if ! { command -v qemu-system-x86_64 >/dev/null \
       && qemu-system-x86_64 --version | grep -q -E 'version (9|1[0-9])\.'; }; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports ($MIRROR)"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$MIRROR" \
      | $SUDO tee /etc/apt/sources.list.d/xlat-backports.sources >/dev/null
    $SUDO apt-get update -qq >&2
  fi
  apt_update
  log "installing qemu-system-x86 from bookworm-backports"
  $SUDO apt-get install -y -qq -t bookworm-backports --no-install-recommends qemu-system-x86 >&2
fi
