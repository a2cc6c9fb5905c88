#!/bin/bash
# Builds the x86-64 bare-metal payload and its native twin with the host gcc.
#   build.sh OUTDIR SCALE WHICH
# writes OUTDIR/payload-sSCALE-wWHICH.elf (entered in long mode by xlat's microvm loader),
# OUTDIR/payload-sSCALE-wWHICH-pvh.elf (the same with a Xen PVH entry, for qemu-system-x86_64
# -kernel) and OUTDIR/native-sSCALE-wWHICH (the kernels as a Linux program).
# WHICH selects kernels: 1 int, 2 mem, 4 fp; 7 = all plus the ring-0/ring-3 system checks.
set -euo pipefail
out=$1 scale=$2 which=$3
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
common=(-O2 -g0 -Wall -Wextra -fno-strict-aliasing -DSCALE="$scale"UL -DWHICH="$which" -I"$src")
bare=(-ffreestanding -fno-pic -fno-pie -no-pie -static -nostdlib -mno-red-zone
      -fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none
      -Wl,--build-id=none -Wl,-T,"$src/link.ld" -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments)
files=("$src/entry.S" "$src/kmain.c" "$src/user.c" "$src/kernels.c" "$src/libc.c")
base="$out/payload-s$scale-w$which"
gcc "${common[@]}" "${bare[@]}" -o "$base.elf.tmp" "${files[@]}"
mv "$base.elf.tmp" "$base.elf"
gcc "${common[@]}" "${bare[@]}" -DPVH -o "$base-pvh.elf.tmp" "${files[@]}"
mv "$base-pvh.elf.tmp" "$base-pvh.elf"
gcc "${common[@]}" -o "$out/native-s$scale-w$which.tmp" "$src/native.c" "$src/kernels.c"
mv "$out/native-s$scale-w$which.tmp" "$out/native-s$scale-w$which"
