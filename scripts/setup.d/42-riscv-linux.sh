#!/usr/bin/env bash
# A Debian trixie riscv64 kernel and a busybox initramfs for `xlat system` boot tests:
#   $CACHE/riscv64/linux/Image      the kernel (uncompressed, loaded at 0x80200000 by fw_jump)
#   $CACHE/riscv64/linux/initrd.cpio.gz  busybox-static + an /init that prints and powers off
# (The devices helper's 40-riscv-system.sh may provide its own; this one is self-contained.)
set -euo pipefail
out="$CACHE/riscv64/linux"
mkdir -p "$out"
if [ ! -s "$out/Image" ]; then
  log "fetching a Debian trixie riscv64 kernel"
  fetch_foreign riscv64 linux-image-riscv64 # the metapackage; also brings the package lists
  pkg=$(apt-cache -oAPT::Architecture=riscv64 -oAPT::Architectures=riscv64 \
      -oDir::Etc::SourceList="$APTDIR/sources.list" -oDir::Etc::SourceParts=/dev/null \
      -oDir::State::Lists="$APTDIR/lists" -oDir::Cache="$APTDIR/cache" -oDir::State::status=/dev/null \
      depends linux-image-riscv64 2>/dev/null | awk '/Depends: linux-image-6/ {print $2}' | head -n1 || true)
  [ -n "$pkg" ] || { log "no riscv64 kernel package found"; exit 1; }
  fetch_foreign riscv64 "$pkg"
  deb=$(ls -t "$CACHE"/debs/riscv64/linux-image-6*_riscv64.deb | head -n1)
  tmp=$(mktemp -d); dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinu*'
  k=$(ls "$tmp"/boot/vmlinu* | head -n1)
  if gzip -t "$k" 2>/dev/null; then gzip -dc "$k" > "$out/Image"; else cp "$k" "$out/Image"; fi
  basename "$deb" > "$out/version"
  rm -rf "$tmp"
fi
if [ ! -s "$out/initrd.cpio.gz" ]; then
  log "building a busybox initramfs"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/bin" "$tmp/proc" "$tmp/sys" "$tmp/dev"
  cp "$CACHE/riscv64/busybox" "$tmp/bin/busybox"
  ln -s busybox "$tmp/bin/sh"
  cat > "$tmp/init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "xlat-init: userspace up"
echo "xlat-init: $(/bin/busybox uname -sm) $(/bin/busybox cat /proc/cpuinfo | /bin/busybox grep -m1 isa)"
echo "xlat-init: 6*7=$((6*7))"
/bin/busybox poweroff -f
INIT
  chmod +x "$tmp/init"
  (cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -9) > "$out/initrd.cpio.gz"
  rm -rf "$tmp"
fi
