#!/usr/bin/env bash
# The real System.map of the Debian kernel 50-x86-kernel.sh fetched, for XLAT_KVM_SYSTEM_MAP
# (accel-kvm's XLAT_KVM_SAMPLE symbolises guest RIPs and stack words with it):
#   $CACHE/x86_64/linux/System.map
# The image package's System.map is a placeholder; the real one is only in the matching
# linux-image-<version>-dbg package (about 860 MB), so this runs only with XLAT_SLOW_KVM=1 (the
# slow Linux boot of test-suites/tests/kvm_linux.rs, which samples with it) and keeps nothing
# but the map.
set -euo pipefail
out="$CACHE/x86_64/linux"
[ "${XLAT_SLOW_KVM:-}" = 1 ] || exit 0
[ -s "$out/System.map" ] && exit 0
ver=$(sed -n 's/^linux-image-\([^_]*\)_\([^_]*\)_amd64\.deb$/\1 \2/p' "$out/version" 2>/dev/null || true)
[ -n "$ver" ] || { log "no $out/version: skipping the kernel's System.map"; exit 0; }
set -- $ver
log "fetching $1-dbg $2 for its System.map"
apt_update
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download -q "$1-dbg=$2" >&2); then
  log "no $1-dbg $2 on the mirror: XLAT_KVM_SAMPLE prints raw addresses"
  exit 0
fi
dpkg --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards './usr/lib/debug/boot/System.map-*'
mv "$tmp"/usr/lib/debug/boot/System.map-* "$out/System.map"
