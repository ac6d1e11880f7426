#!/usr/bin/env bash
# Starts the pinned Azurite (blob, queue, table) on 127.0.0.1 in the background, for test.sh, CI and
# local clusters; tools/azurite/stop.sh stops it. Prints the connection string on stdout, so
#   export MICROSCOPE_AZURITE=$(tools/azurite/start.sh)
# points the blob store's contract tests at it (without it they start a private Azurite).
# Settings (environment):
#   AZURITE_BLOB_PORT, AZURITE_QUEUE_PORT, AZURITE_TABLE_PORT  ports (10000, 10001, 10002)
#   AZURITE_LOCATION  data folder, kept across restarts (.out/azurite in the repository)
#   AZURITE_PID_FILE  where the process id goes ($AZURITE_LOCATION/azurite.pid)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
blob=${AZURITE_BLOB_PORT:-10000}
queue=${AZURITE_QUEUE_PORT:-10001}
table=${AZURITE_TABLE_PORT:-10002}
location=${AZURITE_LOCATION:-$here/../../.out/azurite}
mkdir -p "$location"
location=$(cd "$location" && pwd)
pid_file=${AZURITE_PID_FILE:-$location/azurite.pid}
log=$location/azurite.log

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

connection_string() {
  local key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
  echo "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table/devstoreaccount1;"
}

if [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "Azurite is already running (pid $(cat "$pid_file"), data in $location)." >&2
  connection_string
  exit 0
fi
for port in "$blob" "$queue" "$table"; do
  if answers "$port"; then
    echo "Port $port on 127.0.0.1 is taken by another process: stop it, or choose other ports with AZURITE_BLOB_PORT, AZURITE_QUEUE_PORT and AZURITE_TABLE_PORT." >&2
    exit 1
  fi
done

if [[ ! -x $here/node_modules/.bin/azurite ]]; then
  command -v npm >/dev/null || { echo "Azurite needs Node.js 20 and npm on PATH." >&2; exit 1; }
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

# setsid: its own session, so a Ctrl-C in the shell that started it does not take storage away.
setsid "$here/node_modules/.bin/azurite" \
  --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort "$queue" \
  --tableHost 127.0.0.1 --tablePort "$table" --location "$location" \
  --skipApiVersionCheck --loose --silent >"$log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pid_file"

for _ in $(seq 600); do
  if answers "$blob"; then
    echo "Azurite is up (pid $pid, blob port $blob, data in $location)." >&2
    connection_string
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "Azurite exited while starting; its log ($log) ends:" >&2
    tail -n 20 "$log" >&2
    rm -f "$pid_file"
    exit 1
  fi
  sleep 0.1
done
echo "Azurite did not open blob port $blob within 60 s; stopping it. Log: $log" >&2
kill "$pid" 2>/dev/null || true
rm -f "$pid_file"
exit 1
