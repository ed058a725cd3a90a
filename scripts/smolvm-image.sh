#!/usr/bin/env bash
# The agent image (`claude-bottle image build`, a Docker image) inside smolvm, two ways:
#
#   1. An image archive: `docker save` the image and give smolvm the archive, streamed or saved.
#        scripts/smolvm-image.sh create NAME        docker save IMAGE | smolvm machine create --name NAME --image -
#        scripts/smolvm-image.sh save [FILE]        docker save -o FILE IMAGE; then: smolvm machine create --name NAME --image FILE
#      In an agent file for the smolvm backend: `image: /abs/path/claude-bottle-agent-latest.tar` (smolvm reads a path
#      as an archive; a file named claude-bottle-agent*.tar runs as the image's node user, like claude-bottle/agent).
#
#   2. A machine snapshot: boot a machine from the archive once, stop it, and pack it.
#        scripts/smolvm-image.sh pack [OUT]         ... smolvm pack create --from-vm TMP -o OUT  →  OUT.smolmachine
#      Then: smolvm machine create --name NAME --from OUT.smolmachine (no image extraction at create time).
#
# Options (before the action): --image IMAGE (default claude-bottle/agent:latest), --dry-run (print the
# commands, run nothing). Binaries: $DOCKER_BIN, $SMOLVM_BIN. The archive is about as large as the
# image (~740 MB); smolvm accepts archives up to 8 GiB unless --max-image-size says otherwise.
set -euo pipefail

image="claude-bottle/agent:latest"
dry=0
docker_bin="${DOCKER_BIN:-docker}"
smolvm_bin="${SMOLVM_BIN:-smolvm}"
cache="${CLAUDE_BOTTLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle}/image"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
die() { echo "smolvm-image.sh: $*" >&2; exit 1; }
say() { echo "smolvm-image.sh: $*" >&2; }
# Prints the command; runs it unless --dry-run.
run() { printf '+ %s\n' "$*" >&2; [ "$dry" = 1 ] || "$@"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --image) image="${2:?--image needs a value}"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) break ;;
  esac
done
action="${1:-}"; shift || true

need_image() {
  [ "$dry" = 1 ] && return 0
  "$docker_bin" image inspect "$image" >/dev/null 2>&1 || die "no local image $image: run \`claude-bottle image build\` first"
}
archive_name() { printf '%s/%s.tar' "$cache" "$(printf '%s' "$image" | tr '/:@' '---')"; }

case "$action" in
  create)
    name="${1:?usage: smolvm-image.sh create NAME}"
    need_image
    printf '+ %s save %s | %s machine create --name %s --image -\n' "$docker_bin" "$image" "$smolvm_bin" "$name" >&2
    if [ "$dry" = 0 ]; then
      "$docker_bin" save "$image" | "$smolvm_bin" machine create --name "$name" --image -
      say "created machine $name from $image; start it with: $smolvm_bin machine start --name $name"
    fi
    ;;
  save)
    out="${1:-$(archive_name)}"
    need_image
    [ "$dry" = 1 ] || mkdir -p "$(dirname "$out")"
    run "$docker_bin" save -o "$out.partial" "$image"
    run mv "$out.partial" "$out"
    say "saved $image to $out; use it with: $smolvm_bin machine create --name NAME --image $out"
    [ "$dry" = 1 ] || echo "$out"
    ;;
  pack)
    out="${1:-$cache/claude-bottle-agent}"
    out="${out%.smolmachine}"
    need_image
    archive="$(archive_name)"
    if [ "$dry" = 1 ] || [ ! -s "$archive" ]; then
      run mkdir -p "$(dirname "$archive")"
      run "$docker_bin" save -o "$archive" "$image"
    fi
    tmp="claude-bottle-pack-$$"
    cleanup() { [ "$dry" = 1 ] || "$smolvm_bin" machine delete --name "$tmp" -f >/dev/null 2>&1 || true; }
    trap cleanup EXIT
    # pack --from-vm snapshots a stopped machine's disks: boot it once so the image is unpacked there.
    run "$smolvm_bin" machine create --name "$tmp" --image "$archive"
    run "$smolvm_bin" machine start --name "$tmp"
    run "$smolvm_bin" machine exec --name "$tmp" -- claude --version
    run "$smolvm_bin" machine stop --name "$tmp"
    run "$smolvm_bin" pack create --from-vm "$tmp" -o "$out"
    say "packed $image to $out.smolmachine; use it with: $smolvm_bin machine create --name NAME --from $out.smolmachine"
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
