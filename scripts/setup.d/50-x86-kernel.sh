#!/usr/bin/env bash
# Debian bookworm's amd64 kernel for the x86_64 microvm tests (`xlat system --arch x86_64`):
#   $CACHE/x86_64/linux/vmlinux   the uncompressed ELF vmlinux (PVH entry note checked)
#   $CACHE/x86_64/linux/bzImage   the package's vmlinuz as is
#   $CACHE/x86_64/linux/version   the .deb it came from
set -euo pipefail
out="$CACHE/x86_64/linux"
mkdir -p "$out" "$CACHE/debs/amd64"
if [ ! -s "$out/vmlinux" ]; then
  log "fetching Debian's linux-image-amd64"
  apt_update
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2}' | head -n1 || true)
  [ -n "$pkg" ] || { log "no linux-image-amd64 dependency found"; exit 1; }
  (cd "$CACHE/debs/amd64" && apt-get download -q "$pkg" >&2)
  deb=$(ls -t "$CACHE"/debs/amd64/"$pkg"_*.deb | head -n1)
  tmp=$(mktemp -d)
  dpkg -x "$deb" "$tmp"
  z=$(ls "$tmp"/boot/vmlinuz-* | head -n1)
  cp "$z" "$out/bzImage"
  # extract-vmlinux: find the compressed payload by its magic and decompress it
  try() { # try MAGIC(printf form) COMMAND...
    local magic=$1; shift
    local pos
    for pos in $(LC_ALL=C grep -obUaP "$magic" "$z" | cut -d: -f1 | head -n 5); do
      if tail -c+$((pos + 1)) "$z" | "$@" > "$tmp/vmlinux" 2>/dev/null || [ -s "$tmp/vmlinux" ]; then
        if [ "$(head -c4 "$tmp/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then return 0; fi
      fi
    done
    return 1
  }
  try '\xfd7zXZ\x00' xz -dc || try '\x28\xb5\x2f\xfd' zstd -dc || try '\x1f\x8b\x08' gzip -dc \
    || { log "cannot extract vmlinux from $z"; exit 1; }
  # the PVH entry: an ELF note named "Xen" of type 18 (XEN_ELFNOTE_PHYS32_ENTRY)
  if ! readelf -n "$tmp/vmlinux" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)'; then
    log "warning: $pkg's vmlinux has no PVH (Xen PHYS32_ENTRY) note"
  fi
  mv "$tmp/vmlinux" "$out/vmlinux"
  basename "$deb" > "$out/version"
  rm -rf "$tmp"
fi
