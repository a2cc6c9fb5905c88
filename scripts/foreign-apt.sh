# Sourced by scripts/setup.sh and scripts/sysroot.sh (the setup.d scripts get these functions
# exported): Debian trixie packages of a foreign architecture through a private apt state under
# $CACHE/apt, so the system's own package state is never touched. Needs CACHE and log; uses
# MIRROR when set.

# The mirror URI the machine's own apt sources already use (deb822 or one-line format).
mirror_uri() {
  local u
  u=$(grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  [ -n "$u" ] || u=$(grep -h -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -E '/debian/?$' | head -n1 || true)
  [ -n "$u" ] || u="http://deb.debian.org/debian"
  printf '%s\n' "${u%/}"
}

# foreign_apt ARCH apt-get|apt-cache ARGS...: the command on the private state for Debian
# architecture ARCH (package lists refreshed when missing or older than a week).
foreign_apt() {
  local arch=$1 cmd=$2
  shift 2
  local dir="$CACHE/apt"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  printf 'deb [arch=riscv64,arm64] %s trixie main\n' "${MIRROR:-$(mirror_uri)}" > "$dir/sources.list"
  local opts=(-oAPT::Architecture="$arch" -oAPT::Architectures="$arch"
    -oDir::Etc::SourceList="$dir/sources.list" -oDir::Etc::SourceParts=/dev/null
    -oDir::State::Lists="$dir/lists" -oDir::Cache="$dir/cache" -oDir::State::status=/dev/null
    -oDebug::NoLocking=1 -oAPT::Sandbox::User=root)
  if [ ! -f "$dir/updated" ] || [ -n "$(find "$dir/updated" -mtime +7 2>/dev/null)" ]; then
    log "apt-get update (private state, trixie)"
    apt-get "${opts[@]}" update -qq >&2
    touch "$dir/updated"
  fi
  "$cmd" "${opts[@]}" "$@"
}

# fetch_foreign ARCH PKG...: downloads the packages into $CACHE/debs/ARCH.
fetch_foreign() {
  local arch=$1
  shift
  mkdir -p "$CACHE/debs/$arch"
  (cd "$CACHE/debs/$arch" && foreign_apt "$arch" apt-get download "$@" >&2)
}

# foreign_busybox GUEST ARCH: Debian trixie's busybox-static for Debian architecture ARCH at
# $CACHE/GUEST/busybox (its .deb's name in busybox.version), unless it is there already.
foreign_busybox() {
  local guest=$1 arch=$2 deb tmp
  [ ! -x "$CACHE/$guest/busybox" ] || return 0
  log "fetching Debian trixie busybox-static ($arch)"
  fetch_foreign "$arch" busybox-static
  deb=$(ls -t "$CACHE/debs/$arch"/busybox-static_*_"$arch".deb | head -n1)
  tmp=$(mktemp -d)
  dpkg -x "$deb" "$tmp"
  mkdir -p "$CACHE/$guest"
  cp "$tmp/usr/bin/busybox" "$CACHE/$guest/busybox"
  rm -rf "$tmp"
  basename "$deb" > "$CACHE/$guest/busybox.version"
}
