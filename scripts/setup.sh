#!/usr/bin/env bash
# Installs everything xlat's demo, tests and benches need on a fresh Debian 12 machine.
# Idempotent: each step checks before it acts, so running it again is cheap.
#   - Debian packages: cross gcc for riscv64, QEMU 10 (qemu-user) from bookworm-backports
#   - Guest images: Debian trixie's riscv64 busybox-static, fetched through a private apt state
#     (the system's own package state is never touched for foreign-arch packages)
set -euo pipefail

CACHE="${XLAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xlat}"
mkdir -p "$CACHE"
log() { printf 'setup: %s\n' "$*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# mirror_uri, foreign_apt, fetch_foreign, foreign_busybox: foreign-arch Debian packages
. "$(dirname "${BASH_SOURCE[0]}")/foreign-apt.sh"
MIRROR=$(mirror_uri)

need_pkgs=()
command -v riscv64-linux-gnu-gcc >/dev/null || need_pkgs+=(gcc-riscv64-linux-gnu libc6-dev-riscv64-cross)
command -v gcc >/dev/null || need_pkgs+=(gcc)
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v timeout >/dev/null || need_pkgs+=(coreutils)
qemu_ok() { command -v qemu-riscv64 >/dev/null && qemu-riscv64 --version | grep -q -E 'version (9|1[0-9])\.'; }

apt_updated=0
apt_update() { [ $apt_updated -eq 1 ] || { log "apt-get update"; $SUDO apt-get update -qq >&2; apt_updated=1; }; }
# backports_install APT-ARGS...: `apt-get install` from bookworm-backports (QEMU 10), adding that
# source first where the machine lacks it.
backports_install() {
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports ($MIRROR)"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$MIRROR" \
      | $SUDO tee /etc/apt/sources.list.d/xlat-backports.sources >/dev/null
    apt_updated=0 # the new source's lists
  fi
  apt_update
  log "installing from bookworm-backports: $*"
  $SUDO apt-get install -y -qq -t bookworm-backports "$@" >&2
}

qemu_ok || backports_install qemu-user
if [ ${#need_pkgs[@]} -gt 0 ]; then
  apt_update
  log "installing ${need_pkgs[*]}"
  $SUDO apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

# ---- Rust toolchain (the workspace needs rustc >= 1.95) ----
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
rust_ok() {
  command -v cargo >/dev/null && command -v rustc >/dev/null || return 1
  local v; v=$(rustc --version | awk '{print $2}')
  [ "$(printf '%s\n1.95.0\n' "$v" | sort -V | head -n1)" = "1.95.0" ]
}
if ! rust_ok; then
  if command -v rustup >/dev/null; then
    log "updating the Rust toolchain (rustup)"
    rustup toolchain install stable --profile minimal -c rustfmt >&2
    rustup default stable >&2
  else
    command -v curl >/dev/null || { apt_update; $SUDO apt-get install -y -qq curl ca-certificates >&2; }
    log "installing Rust with rustup (https://rustup.rs)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt >&2
    . "$HOME/.cargo/env"
  fi
fi
rustfmt_ok() { cargo fmt --version >/dev/null 2>&1; }
rustfmt_ok || { command -v rustup >/dev/null && rustup component add rustfmt >&2; } || log "warning: rustfmt missing"

# ---- foreign-arch Debian packages from trixie, private apt state (scripts/foreign-apt.sh) ----
APTDIR="$CACHE/apt"
foreign_busybox riscv64 riscv64
bash "$(dirname "${BASH_SOURCE[0]}")/sysroot.sh" # riscv64 sysroot for dynamically linked guests (xlat run -L)
# Per-capability install steps (system-mode firmware and kernels, other guest arches...): each
# scripts/setup.d/*.sh is idempotent and sees CACHE, MIRROR, SUDO and the helpers above.
export CACHE MIRROR SUDO APTDIR apt_updated
export -f log apt_update backports_install mirror_uri foreign_apt fetch_foreign foreign_busybox
for f in "$(dirname "${BASH_SOURCE[0]}")"/setup.d/*.sh; do
  [ -e "$f" ] || continue
  bash "$f"
done
log "ok: cache at $CACHE"
