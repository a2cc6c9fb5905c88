#!/usr/bin/env bash
# A Debian trixie riscv64 kernel and a busybox initramfs for `xlat system` boot tests:
#   $CACHE/riscv64/linux/Image      the kernel (uncompressed, loaded at 0x80200000 by fw_jump)
#   $CACHE/riscv64/linux/initrd.cpio.gz  busybox-static + the virtio modules + an /init that prints a
#     marker, runs xlat-test.sh from any virtio disk that is a tar holding one, and powers off
# (The devices helper's 40-riscv-system.sh may provide its own; this one is self-contained.)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../initramfs.sh"
out="$CACHE/riscv64/linux"
mkdir -p "$out"
if [ ! -s "$out/Image" ]; then
  log "fetching a Debian trixie riscv64 kernel"
  fetch_foreign riscv64 linux-image-riscv64 # the metapackage; also brings the package lists
  pkg=$(foreign_apt riscv64 apt-cache depends linux-image-riscv64 2>/dev/null |
    awk '/Depends: linux-image-6/ {print $2}' | head -n1 || true)
  [ -n "$pkg" ] || { log "no riscv64 kernel package found"; exit 1; }
  fetch_foreign riscv64 "$pkg"
  deb=$(ls -t "$CACHE"/debs/riscv64/linux-image-6*_riscv64.deb | head -n1)
  tmp=$(mktemp -d); dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinu*'
  k=$(ls "$tmp"/boot/vmlinu* | head -n1)
  if gzip -t "$k" 2>/dev/null; then gzip -dc "$k" > "$out/Image"; else cp "$k" "$out/Image"; fi
  basename "$deb" > "$out/version"
  rm -rf "$tmp"
fi
# The initramfs's layout version: bump it when /init changes so cached copies are rebuilt.
initrd_version=3
if [ ! -s "$out/initrd.cpio.gz" ] || [ "$(cat "$out/initrd.version" 2>/dev/null)" != "$initrd_version" ]; then
  log "building a busybox initramfs"
  # Debian builds virtio-mmio, virtio-blk and virtio-rng as modules: taken from the kernel package
  deb=$(ls -t "$CACHE"/debs/riscv64/linux-image-6*_riscv64.deb | head -n1)
  # /init: mounts, loads the virtio modules, prints the marker; then, for each virtio disk
  # that is a tar holding xlat-test.sh, runs that script in /t with the disk as $1 (tests
  # put their commands and files there); prints the end marker and powers off.
  busybox_initramfs "$out/initrd.cpio.gz" "$CACHE/riscv64/busybox" "$deb" \
    "virtio_mmio virtio_blk virtio-rng" t <<'INIT'
#!/bin/sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
$B --install -s /bin
for m in virtio_mmio virtio_blk virtio-rng; do $B insmod /lib/modules/$m.ko; done
echo "xlat-init: userspace up"
echo "xlat-init: $($B uname -sm) $($B cat /proc/cpuinfo | $B grep -m1 isa)"
echo "xlat-init: 6*7=$((6*7))"
$B sleep 0.2 # virtio-blk probes asynchronously
for d in /dev/vd?; do
  [ -b "$d" ] || continue
  if $B tar -x -f "$d" -C /t xlat-test.sh 2>/dev/null; then
    echo "xlat-init: running xlat-test.sh from $d"
    (cd /t && $B sh ./xlat-test.sh "$d")
    echo "xlat-init: xlat-test.sh exit $?"
  fi
done
echo "xlat-init: done"
/bin/busybox poweroff -f
INIT
  echo "$initrd_version" > "$out/initrd.version"
fi
