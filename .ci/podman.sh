#!/usr/bin/env bash
# Make podman run for the podman integration tests: installed from Debian when missing (4.3 on
# bookworm). Nothing else is configured here: where this host's limits need it, claude-bottle
# points its own podman calls at its containers.conf (see `claude-bottle doctor`). Idempotent.
set -euo pipefail
log="${CLAUDE_BOTTLE_PODMAN_LOG:-/tmp/claude-bottle-podman-install.log}"
if ! command -v podman >/dev/null 2>&1; then
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman; } >>"$log" 2>&1; then
    echo "podman.sh: apt-get install podman failed; see $log" >&2
    exit 1
  fi
  echo "podman.sh: installed podman"
fi
if ! podman info --format '{{.Version.Version}}' >/dev/null 2>>"$log"; then
  echo "podman.sh: podman is installed but does not run; see $log" >&2
  exit 1
fi
echo "podman.sh: podman $(podman info --format '{{.Version.Version}}'), $(podman info --format '{{.Host.OCIRuntime.Name}}/{{.Host.NetworkBackend}}')"
