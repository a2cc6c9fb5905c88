#!/usr/bin/env bash
# Builds the bare-metal system tests: build.sh OUTDIR [NAME...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1; shift
mkdir -p "$out"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(cd "$here" && ls *.c | sed 's/\.c$//'))
for n in "${names[@]}"; do
  riscv64-linux-gnu-gcc -march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -ffreestanding -fno-builtin \
    -nostdlib -nostartfiles -static -fno-pic -no-pie -Wl,--build-id=none \
    -T "$here/link.ld" -o "$out/$n.elf" "$here/start.S" "$here/$n.c"
done
# The S-mode payload for OpenSBI (linked where fw_jump jumps).
riscv64-linux-gnu-gcc -march=rv64gc -mabi=lp64d -nostdlib -nostartfiles -static -fno-pic -no-pie \
  -Wl,--build-id=none -Wl,-Ttext=0x80200000 -Wl,-e,_start -o "$out/sbi_payload.elf" "$here/sbi_payload.S"
riscv64-linux-gnu-objcopy -O binary "$out/sbi_payload.elf" "$out/sbi_payload.bin"
