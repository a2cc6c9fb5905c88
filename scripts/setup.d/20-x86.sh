#!/usr/bin/env bash
# Debian's amd64 busybox-static (never installed: downloaded and unpacked into $CACHE/x86_64/),
# for the x86-64 linux-user tests: its applets run under xlat and natively, outputs compared.
set -euo pipefail
dest="$CACHE/x86_64"
if [ ! -x "$dest/busybox" ]; then
  apt_update
  tmp=$(mktemp -d)
  log "fetching amd64 busybox-static"
  (cd "$tmp" && apt-get download busybox-static >&2)
  dpkg -x "$tmp"/busybox-static_*.deb "$tmp/x"
  mkdir -p "$dest"
  cp "$tmp/x/bin/busybox" "$dest/busybox"
  rm -rf "$tmp"
fi
