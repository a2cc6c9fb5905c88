#!/usr/bin/env bash
# Debian's acpica-tools: `iasl -d` reads back the x86_64 microvm's ACPI tables in
# machines/src/x86/acpi.rs's test. Idempotent.
set -euo pipefail
if ! command -v iasl >/dev/null; then
  apt_update
  log "installing acpica-tools (iasl)"
  $SUDO apt-get install -y -qq --no-install-recommends acpica-tools >&2
fi
