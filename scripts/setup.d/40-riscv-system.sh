#!/usr/bin/env bash
# Tools the machines crate's tests use: qemu-img/qemu-io (qcow2 images made and checked by QEMU)
# and dtc (decoding device trees). qemu-system-riscv64, OpenSBI and the kernel/initramfs come
# from 41-qemu-system.sh and 42-riscv-linux.sh. Idempotent.
set -euo pipefail
need=()
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || need+=(qemu-utils)
command -v dtc >/dev/null || need+=(device-tree-compiler)
command -v xz >/dev/null || need+=(xz-utils) # the Linux test unpacks kernel modules
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
  apt_update
  log "installing ${need[*]}"
  $SUDO apt-get install -y -qq "${need[@]}" >&2
fi
