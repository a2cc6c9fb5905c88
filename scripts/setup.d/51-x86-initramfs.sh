#!/usr/bin/env bash
# A busybox initramfs for Debian's amd64 kernel on the x86_64 microvm (test-suites/tests/kvm_linux.rs):
#   $CACHE/x86_64/linux/initrd.cpio.gz  amd64 busybox-static (20-x86.sh) + the kernel package's
#     virtio modules (50-x86-kernel.sh) + an /init that prints markers (CPUs seen, the first
#     bytes of each virtio disk) and powers off.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../initramfs.sh"
out="$CACHE/x86_64/linux"
# The initramfs's layout version: bump it when /init changes so cached copies are rebuilt.
initrd_version=2
if [ ! -s "$out/initrd.cpio.gz" ] || [ "$(cat "$out/initrd.version" 2>/dev/null)" != "$initrd_version" ]; then
  deb=$(ls -t "$CACHE"/debs/amd64/linux-image-6*_amd64.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ] || [ ! -x "$CACHE/x86_64/busybox" ]; then
    log "no amd64 kernel package or busybox in $CACHE: skipping the x86_64 initramfs"
    exit 0
  fi
  log "building the x86_64 busybox initramfs"
  # Debian's amd64 kernel builds virtio, virtio-mmio and virtio-blk as modules
  busybox_initramfs "$out/initrd.cpio.gz" "$CACHE/x86_64/busybox" "$deb" \
    "virtio virtio_ring virtio_mmio virtio_blk" <<'INIT'
#!/bin/sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
$B --install -s /bin
echo "xlat-init: userspace up"
echo "xlat-init: cpus online $($B cat /sys/devices/system/cpu/online) processors $($B grep -c ^processor /proc/cpuinfo)"
# virtio needs virtio_ring's symbols (virtio_break_device): virtio_ring goes first
for m in virtio_ring virtio virtio_mmio virtio_blk; do $B insmod /lib/modules/$m.ko; done
# virtio-blk probes asynchronously
n=0
while [ ! -b /dev/vda ] && [ $n -lt 20 ]; do $B sleep 0.1; n=$((n+1)); done
for d in /dev/vd?; do
  [ -b "$d" ] || continue
  echo "xlat-init: $d begins '$($B head -c 64 "$d" | $B tr -cd 'A-Za-z0-9 :._-')'"
done
echo "xlat-init: done"
$B poweroff -f
INIT
  echo "$initrd_version" > "$out/initrd.version"
fi
