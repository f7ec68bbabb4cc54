# supervise NAME COMMAND [ARGS...]: run COMMAND in the background and wait for it; when it exits,
# say so on stderr and start it again after a back-off that doubles from SUPERVISE_BACKOFF_MIN_MS
# to SUPERVISE_BACKOFF_MAX_MS (1 s to 30 s), and starts over once a run lasted SUPERVISE_STABLE_S
# (30 s). SIGTERM or SIGINT stops COMMAND (TERM, then waits for it) and returns 0.
# Meant to run in a background subshell of its own: `supervise web deploy/web &`.
supervise() {
  local name=$1
  shift
  local min=${SUPERVISE_BACKOFF_MIN_MS:-1000} max=${SUPERVISE_BACKOFF_MAX_MS:-30000}
  local stable=${SUPERVISE_STABLE_S:-30}
  local backoff=$min child="" started status
  trap _supervise_stop TERM INT
  while true; do
    started=$SECONDS
    "$@" &
    child=$!
    status=0
    wait "$child" || status=$?
    child=""
    if ((SECONDS - started >= stable)); then
      backoff=$min
    fi
    printf 'supervise: %s exited with status %d after %d s; restarting in %d.%d s\n' \
      "$name" "$status" "$((SECONDS - started))" "$((backoff / 1000))" "$((backoff % 1000 / 100))" >&2
    sleep "$((backoff / 1000)).$(printf '%03d' $((backoff % 1000)))" &
    child=$!
    wait "$child" || true
    child=""
    backoff=$((backoff * 2 > max ? max : backoff * 2))
  done
}

# The trap runs inside supervise, so it sees supervise's $child: the command or the back-off sleep.
_supervise_stop() {
  trap - TERM INT
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit 0
}
