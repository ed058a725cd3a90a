#!/usr/bin/env bash
# Make a Docker engine answer for the docker integration tests, and busybox-static present
# for their local test image (nothing is ever pulled). Idempotent; safe to call or source.
#
#   bash .ci/docker.sh        ensure docker.io + busybox-static, start dockerd if none answers
#   bash .ci/docker.sh stop   stop the dockerd this script started (for .ci/run's exit trap)
#
# dockerd's output goes to $CLAUDE_BOTTLE_DOCKERD_LOG; its pid to $CLAUDE_BOTTLE_DOCKERD_PIDFILE.

# True when pid is a live (not zombie) dockerd: a stale pidfile's pid may be reused or unreaped.
claude_bottle_dockerd_alive() {
  local comm state
  read -r _ comm state _ 2>/dev/null <"/proc/${1:-0}/stat" || return 1
  [ "$comm" = "(dockerd)" ] && [ "$state" != Z ]
}

claude_bottle_docker() {
  local log="${CLAUDE_BOTTLE_DOCKERD_LOG:-/tmp/claude-bottle-dockerd.log}"
  local pidfile="${CLAUDE_BOTTLE_DOCKERD_PIDFILE:-/tmp/claude-bottle-dockerd.pid}"
  local wait_s="${CLAUDE_BOTTLE_DOCKERD_WAIT:-60}"

  if [ "${1:-}" = stop ]; then
    local pid
    pid="$(cat "$pidfile" 2>/dev/null)" || { echo "docker.sh: no dockerd started by this script"; return 0; }
    if claude_bottle_dockerd_alive "$pid"; then
      kill -TERM "$pid"
      # dockerd stops its containers and its containerd child first; give it time.
      local i
      for i in $(seq 1 30); do claude_bottle_dockerd_alive "$pid" || break; sleep 1; done
      claude_bottle_dockerd_alive "$pid" && kill -KILL "$pid"
      echo "docker.sh: stopped dockerd (pid $pid)"
    else
      echo "docker.sh: dockerd (pid $pid) already gone"
    fi
    rm -f "$pidfile"
    return 0
  fi

  local did=()
  local missing=()
  command -v dockerd >/dev/null 2>&1 || docker info >/dev/null 2>&1 || missing+=(docker.io)
  [ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)" = "install ok installed" ] || missing+=(busybox-static)
  if [ "${#missing[@]}" -gt 0 ]; then
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >>"$log" 2>&1; then
      echo "docker.sh: apt-get install ${missing[*]} failed; see $log" >&2
      return 1
    fi
    did+=("installed ${missing[*]}")
  fi

  if docker info >/dev/null 2>&1; then
    did+=("docker engine already answering")
  else
    local pid
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if claude_bottle_dockerd_alive "$pid"; then
      did+=("waited for dockerd pid $pid")
    else
      nohup dockerd </dev/null >>"$log" 2>&1 &
      pid=$!
      echo "$pid" >"$pidfile"
      did+=("started dockerd pid $pid (log $log, pidfile $pidfile)")
    fi
    local deadline=$((SECONDS + wait_s))
    until docker info >/dev/null 2>&1; do
      if ! claude_bottle_dockerd_alive "$pid"; then
        echo "docker.sh: dockerd exited; last lines of $log:" >&2
        tail -n 20 "$log" >&2
        rm -f "$pidfile"
        return 1
      fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "docker.sh: docker info still failing after ${wait_s}s; see $log" >&2
        return 1
      fi
      sleep 1
    done
  fi

  did+=("$(docker version --format 'engine {{.Server.Version}}' 2>/dev/null)")
  local summary
  summary="$(printf '%s; ' "${did[@]}")"
  echo "docker.sh: ${summary%; }"
}

# Called: exit with its status. Sourced: leave the caller's shell options alone.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  claude_bottle_docker "$@"
  exit $?
fi
claude_bottle_docker "$@"
