#!/usr/bin/env bash
# Stops the Azurite that tools/azurite/start.sh started (same AZURITE_LOCATION / AZURITE_PID_FILE).
# It is asked first (SIGTERM): Azurite keeps its blob metadata in memory and saves it on the way
# out, so a hard kill could lose what was stored. Once its log says blob, queue and table are
# closed (saved), or after 10 s, it is killed: after serving clients Azurite 3.37.0 often closes
# everything and then never exits.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
location=${AZURITE_LOCATION:-$here/../../.out/azurite}
pid_file=${AZURITE_PID_FILE:-$location/azurite.pid}
log=$location/azurite.log

if [[ ! -f $pid_file ]]; then
  echo "No Azurite pid file at $pid_file: nothing to stop." >&2
  exit 0
fi
pid=$(cat "$pid_file")
if kill -TERM "$pid" 2>/dev/null; then
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    [[ $(grep -c 'service successfully closed' "$log" 2>/dev/null) -ge 3 ]] && break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  echo "Azurite (pid $pid) stopped." >&2
else
  echo "Azurite (pid $pid) was not running." >&2
fi
rm -f "$pid_file"
